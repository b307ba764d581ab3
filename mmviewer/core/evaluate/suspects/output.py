"""What ``mmviewer suspects`` prints: one JSON object, or a table for people."""

from __future__ import annotations


def parse_pairs(texts: list[str] | None) -> list[tuple[str, str]] | None:
    """``["audio:text", ...]`` (``--pair``) as modality pairs; None for none given."""
    if not texts:
        return None
    pairs = [tuple(p.strip() for p in text.split(":")) for text in texts]
    bad = [text for text, p in zip(texts, pairs, strict=True) if len(p) != 2 or not all(p)]
    if bad:
        raise ValueError(f"--pair must look like audio:text (got {', '.join(bad)})")
    return pairs


def summary(found, n_items: int, limit: int | None) -> dict:
    """The ``--json`` object: ``method``, ``n_items``, ``n_fit``, ``folds``, ``threshold``,
    ``n_flagged`` (items above the threshold) and ``suspects`` (most suspect first, at most
    ``limit``; see :meth:`Suspicion.entries`)."""
    return {"method": found.method, "n_items": int(n_items), "n_fit": int(found.n_fit),
            "folds": int(found.folds), "threshold": float(found.threshold),
            "n_flagged": int(found.flagged().sum()), "suspects": found.entries(limit)}


def format_table(data: dict) -> str:
    """``summary()`` as an aligned text table, with a line saying what the numbers mean."""
    pairs = sorted({p for e in data["suspects"] for p in e["pairs"]})
    head = ["#", "id", "score", "odd", *pairs, "rather"]
    rows = []
    for k, e in enumerate(data["suspects"], start=1):
        flag = "*" if e["score"] > data["threshold"] else " "
        rows.append([f"{k}{flag}", e["id"], f"{e['score']:.3f}", e["modality"] or "-",
                     *("-" if e["pairs"].get(p) is None else f"{e['pairs'][p]:.3f}" for p in pairs),
                     e["rather"] or "-"])
    widths = [max(len(str(r[i])) for r in [head, *rows]) for i in range(len(head))]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
             for r in [head, *rows]]
    lines.append(
        f"{data['n_flagged']} of {data['n_items']} items above the threshold {data['threshold']:g} "
        f"(marked *; method {data['method']}, {data['folds']} folds, up to {data['n_fit']:,} "
        "pairs per fit). Score: how much better the item's media match their look-alikes' media "
        "than each other, as a robust z over the items (pairs: the same per modality pair); odd: the "
        "modality that disagrees with the others; rather: the item whose media the odd one matches best.")
    return "\n".join(lines)
