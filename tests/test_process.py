"""The real process: signals, closed pipes and streams, as a shell user meets them."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
XENT = [sys.executable, "-m", "xentropy_cli"]


def test_ctrl_c_while_reading_stdin_exits_130_without_traceback():
    process = subprocess.Popen(XENT + ["compute", "-"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, cwd=ROOT)
    time.sleep(1.5)  # let it start and block on the open stdin
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=30)
    process.stdin.close() if process.stdin else None
    assert process.returncode == 130
    assert b"Traceback" not in stderr


def test_closed_pipe_exits_quietly(tmp_path):
    rng = np.random.default_rng(0)
    p = rng.random((60_000, 3)) + 0.01
    p /= p.sum(1, keepdims=True)
    y = np.eye(3)[rng.integers(0, 3, 60_000)]
    path = tmp_path / "big.csv"
    np.savetxt(path, np.hstack([y, p]), delimiter=",", fmt="%.6g",
               header="true_0,true_1,true_2,pred_0,pred_1,pred_2", comments="")
    command = " ".join(XENT) + f" compute {path} -q --reduction none --format plain | head -1; " \
              "echo \"status ${PIPESTATUS[0]}\""
    done = subprocess.run(["bash", "-c", command], capture_output=True, text=True, cwd=ROOT, timeout=120)
    first, status = done.stdout.splitlines()
    expected = -np.log(float(f"{p[0][int(np.argmax(y[0]))]:.6g}"))
    assert float(first) == expected
    assert status == "status 0"
    assert done.stderr == ""


def test_input_file_is_never_modified(tmp_path):
    source = ROOT / "samples" / "keras_question.csv"
    copy = tmp_path / "keras_question.csv"
    copy.write_bytes(source.read_bytes())
    before = copy.stat().st_mtime_ns, copy.read_bytes()
    args = ["compute", str(copy), "--keras-compat", "-q", "--output", str(tmp_path / "o")]
    done = subprocess.run(XENT + args, capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert done.returncode == 0
    assert (copy.stat().st_mtime_ns, copy.read_bytes()) == before
    assert (tmp_path / "o").read_text() == "0.3239681124687195\n"
