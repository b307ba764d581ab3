"""The command line: fast start-up, JSON contracts, exit codes, Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from mmviewer.cli import main

HEAVY = {"torch", "PySide6", "umap", "librosa", "open_clip", "numba", "sklearn", "pyqtgraph", "pyarrow"}


def test_import_and_help_stay_light():
    code = (
        "import sys, mmviewer, mmviewer.cli as c; c.build_parser(); [c.build_subparser(n) for n in c.SUBCOMMANDS];"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {sorted(HEAVY)!r}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    helped = subprocess.run([sys.executable, "-m", "mmviewer", "--help"], capture_output=True, text=True)
    assert helped.returncode == 0 and "embed|eval|match" in helped.stdout


def dataset(folder, make, n=24):
    words = ["red apple fruit", "blue ocean water", "green forest tree", "yellow sun light"]
    for i in range(n):
        make.item(folder, f"x{i:02d}", image_color=((i * 37) % 255, (i * 91) % 255, (i * 53) % 255),
                  words=f"{words[i % 4]} number {i}", freq=200 + 25 * i)
    (folder / "broken.png").write_bytes(b"nope")
    return folder


def run_json(capsys, argv):
    code = main(argv)
    out = capsys.readouterr().out
    return code, json.loads(out)


def test_embed_eval_match_json_contracts(tmp_path, make, capsys):
    folder = dataset(tmp_path / "d", make)
    code, summary = run_json(capsys, ["embed", str(folder), "--offline", "--json"])
    assert code == 0
    assert summary["items"] == 24 and summary["modalities"] == {"image": 24, "text": 24, "audio": 24}
    assert summary["skipped"] == [{"path": "broken.png", "reason": "not a readable image (unknown or corrupt format)"}]
    assert summary["cached"] == 0 and summary["computed"] == 72
    code, again = run_json(capsys, ["embed", str(folder), "--offline", "--json"])
    assert again["cached"] == 72 and again["computed"] == 0

    code, ev = run_json(capsys, ["eval", str(folder), "--offline", "--json", "--query", "text",
                                 "--target", "image", "--align", "cca"])
    assert code == 0
    for key in ("method", "query", "target", "n_test", "recall@1", "recall@5", "recall@10", "mrr",
                "median_rank", "modality_gap"):
        assert key in ev, key
    assert ev["method"] == "cca" and ev["n_test"] >= 1

    code, m = run_json(capsys, ["match", str(folder), "--offline", "--json", "--item", "x03",
                                "--query", "text", "--target", "image", "--k", "5", "--align", "cca"])
    assert code == 0 and len(m["matches"]) == 5
    assert set(m["matches"][0]) == {"id", "score", "is_partner"}
    scores = [r["score"] for r in m["matches"]]
    assert scores == sorted(scores, reverse=True)
    code, fused = run_json(capsys, ["match", str(folder), "--offline", "--json", "--item", "x03",
                                    "--weights", "image=1,text=0,audio=0"])
    assert "x03" not in [r["id"] for r in fused["matches"]]


def test_bad_arguments_give_clear_errors_and_exit_1(tmp_path, make, capsys):
    assert main(["embed", str(tmp_path / "missing"), "--offline"]) == 1
    assert "no such file or folder" in capsys.readouterr().err
    folder = dataset(tmp_path / "d", make, n=6)
    assert main(["match", str(folder), "--offline", "--item", "nope"]) == 1
    assert "nope" in capsys.readouterr().err
    assert main(["eval", str(folder), "--offline", "--query", "smell", "--target", "image"]) == 1
    assert "smell" in capsys.readouterr().err


@pytest.mark.slow
def test_ctrl_c_stops_quickly_and_keeps_finished_batches(tmp_path, make):
    folder = dataset(tmp_path / "d", make, n=160)
    proc = subprocess.Popen([sys.executable, "-m", "mmviewer", "embed", str(folder), "--offline",
                             "--batch-size", "4"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    store = folder / ".mmviewer" / "vectors"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not list(store.glob("*/shard-*")):
        time.sleep(0.05)
    t0 = time.monotonic()
    os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C reaches the whole foreground group
    _, err = proc.communicate(timeout=30)
    stopped_after = time.monotonic() - t0
    assert proc.returncode == 130, err
    assert "finished batch is saved" in err
    print(f"\nCtrl-C to exit: {stopped_after:.2f} s")
    done = subprocess.run([sys.executable, "-m", "mmviewer", "embed", str(folder), "--offline", "--json"],
                          capture_output=True, text=True, timeout=300)
    summary = json.loads(done.stdout)
    assert summary["cached"] > 0 and summary["items"] == 160
