"""The import report: every file that was skipped and why, plus non-fatal notes.

One report travels from the scan through the embedding job to the CLI summary and the GUI's
report dialog, so a problem is described once, in words a person understands.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class Problem:
    """One file (or manifest row) and what happened to it."""

    path: str
    reason: str


@dataclass
class ImportReport:
    """Skipped files (not used at all) and notes (used, with a caveat)."""

    skipped: list[Problem] = field(default_factory=list)
    notes: list[Problem] = field(default_factory=list)

    def skip(self, path: str, reason: str) -> None:
        self.skipped.append(Problem(str(path), reason))

    def note(self, path: str, reason: str) -> None:
        self.notes.append(Problem(str(path), reason))

    def extend(self, other: ImportReport) -> None:
        self.skipped.extend(other.skipped)
        self.notes.extend(other.notes)

    def to_dict(self) -> dict:
        return {
            "skipped": [asdict(p) for p in self.skipped],
            "notes": [asdict(p) for p in self.notes],
        }

    def format(self, limit: int | None = 50) -> str:
        """Human-readable listing (at most ``limit`` lines per section)."""
        lines: list[str] = []
        for title, problems in (("Skipped", self.skipped), ("Notes", self.notes)):
            if not problems:
                continue
            lines.append(f"{title} ({len(problems)}):")
            shown = problems if limit is None else problems[:limit]
            lines.extend(f"  {p.path}: {p.reason}" for p in shown)
            if len(shown) < len(problems):
                lines.append(f"  … and {len(problems) - len(shown)} more")
        return "\n".join(lines) if lines else "No problems."
