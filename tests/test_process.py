"""The real process: signals, closed pipes and streams, as a shell user meets them."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import tempfile
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


# --- hostile input and faults (issue 15) --------------------------------------------------------
# Every child runs under resource caps (address space, file size, CPU) and a timeout, so a
# regression fails the test instead of taking the machine down; peak RSS comes from wait4.

import io  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import stat  # noqa: E402
import threading  # noqa: E402
from dataclasses import dataclass  # noqa: E402

import pytest  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from xentropy_cli.cli import app  # noqa: E402

MEMORY_BOUND = 500 << 20  # bytes of peak RSS on any hostile input
CSV = "true_0,true_1,pred_0,pred_1\n1,0,0.9,0.1\n0,1,0.2,0.8\n"
CSV_VALUE = "0.164252033486018\n"  # −(ln 0.9 + ln 0.8) / 2, as float64 prints it


@dataclass
class Done:
    returncode: int
    stdout: bytes
    stderr: str
    peak_rss: int  # bytes, the child and the workers it waited for
    seconds: float


def _caps():
    resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))
    resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 30, 1 << 30))
    resource.setrlimit(resource.RLIMIT_CPU, (60, 60))


# Linux keeps a process's peak RSS across exec, so a child forked from a big pytest process reports
# pytest's size. xent is started by a small launcher instead, whose own child starts from the
# launcher's few MB; the launcher writes that child's peak (KiB) and exits as it did.
LAUNCHER = """import os, signal, sys
pid = os.fork()
if pid == 0:
    os.execvp(sys.argv[2], sys.argv[2:])
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as peak:
    peak.write(str(usage.ru_maxrss))
code = os.waitstatus_to_exitcode(status)
if code < 0:
    signal.signal(-code, signal.SIG_DFL)
    os.kill(os.getpid(), -code)
sys.exit(code)
"""


def xent(args, *, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, env=None, timeout=60, cwd=None,
         shell_redirect: str | None = None) -> Done:
    """Run xent under caps. ``shell_redirect``: run through bash with that redirection of stdout
    (``>/dev/full``, ``>&-``) instead of a pipe."""
    command = XENT + [str(a) for a in args]
    if shell_redirect is not None:
        command = ["bash", "-c", 'exec "$@" ' + shell_redirect, "xent", *command]
        stdout = None
    fd, peak_file = tempfile.mkstemp(prefix="xent-test-peak-")
    os.close(fd)
    command = [sys.executable, "-c", LAUNCHER, peak_file, *command]
    started = time.monotonic()
    process = subprocess.Popen(command, stdin=stdin, stdout=stdout, stderr=subprocess.PIPE,
                               env={**os.environ, **(env or {})}, cwd=cwd or ROOT, preexec_fn=_caps)
    out_chunks, err_chunks = [], []
    readers = [threading.Thread(target=lambda s=s, c=c: c.append(s.read()))
               for s, c in ((process.stdout, out_chunks), (process.stderr, err_chunks)) if s is not None]
    for reader in readers:
        reader.start()
    deadline = started + timeout
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() > deadline:
            process.kill()
            pid, status, usage = os.wait4(process.pid, 0)
            raise AssertionError(f"{args} did not end within {timeout} s")
        time.sleep(0.02)
    seconds = time.monotonic() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    for reader in readers:
        reader.join(10)
    peak = Path(peak_file).read_text()
    os.unlink(peak_file)
    return Done(process.returncode, b"".join(out_chunks), b"".join(err_chunks).decode("utf-8", "replace"),
                int(peak or 0) * 1024, seconds)


def one_error_line(done: Done, code: int, says: str) -> None:
    assert done.returncode == code, (done.returncode, done.stderr)
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("xent: error: "), done.stderr
    assert says in done.stderr, done.stderr
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr


COMMANDS = [["compute", "{csv}"], ["explain", "{csv}"], ["compare", "{csv}"], ["grad", "{csv}"],
            ["profiles"], ["--version"], ["--help"], ["compute", "--help"],
            ["compute", "{csv}", "--reduction", "none", "--format", "csv"]]


def _in_process(args, stdout, env=None):
    """The CLI in this process with ``sys.stdout`` replaced (a /dev/full handle, or None for a
    closed stdout), as run_main sees a redirect: (exit code, stderr text)."""
    saved_out, saved_err, saved_env = sys.stdout, sys.stderr, dict(os.environ)
    sys.stdout, sys.stderr = stdout, io.StringIO()
    os.environ.update(env or {})
    try:
        code = app(args, prog_name="xent", standalone_mode=False)
    finally:
        err = sys.stderr.getvalue()
        sys.stdout, sys.stderr = saved_out, saved_err
        os.environ.clear()
        os.environ.update(saved_env)
    return code, err


def test_full_and_closed_stdout_are_one_line_and_exit_1_for_every_command(tmp_path):
    """stdout on a full device (/dev/full, only as stdout) and closed (>&-), every command and
    both engines (in memory; streamed via XENT_STREAM_MIN_BYTES=1): in this process for the
    matrix, and three real processes for what only a process shows (the flush at exit)."""
    data = tmp_path / "d.csv"
    data.write_text(CSV)
    runs = [([a.format(csv=data) for a in command], None) for command in COMMANDS]
    runs.append((["compute", str(data), "--reduction", "none"], {"XENT_STREAM_MIN_BYTES": "1"}))
    for args, env in runs:
        for closed in (False, True):
            full = open("/dev/full", "w")  # noqa: SIM115 - closed below, whatever it holds
            try:
                code, err = _in_process(args, None if closed else full, env)
            finally:
                try:
                    full.close()
                except OSError:
                    pass
            reason = "it is closed" if closed else "No space left on device"
            assert code == 1, (args, closed, err)
            assert err == f"xent: error: cannot write the output to stdout: {reason}; check where stdout " \
                          "goes (disk space, redirection), or use -o FILE\n", (args, err)
    processes = [(["compute", data], None, ">/dev/full"), (["--version"], None, ">&-"),
                 (["compute", data, "--reduction", "none"], {"XENT_STREAM_MIN_BYTES": "1"}, ">/dev/full")]
    for args, env, redirect in processes:
        done = xent(args, env=env, shell_redirect=redirect)
        reason = "No space left on device" if "full" in redirect else "it is closed"
        one_error_line(done, 1, f"cannot write the output to stdout: {reason}")
    assert len(runs) * 2 + len(processes) == 23


def test_columns_that_are_not_positive_numbers_fall_back_to_80():
    runner = CliRunner()
    widths = set()
    for columns in ("abc", "0", "-5", "", "80"):
        # explain: its "why they differ" panel spans the whole width (compute's panel fits its text)
        done = runner.invoke(app, ["explain", "-t", "[[1,0]]", "-p", "[[0.9,0.1]]", "-f", "table"],
                             env={"COLUMNS": columns}, catch_exceptions=False)
        assert done.exit_code == 0, done.stderr
        lines = done.stdout.splitlines()
        assert lines and "0.10536051565782628" in done.stdout
        widths.add(max(len(line) for line in lines))
    assert widths == {80}


@pytest.mark.parametrize("args, says", [
    (["compute", "--nope"], "No such option: --nope"),
    (["compute", "-t"], "Option '-t' requires an argument"),
    (["bogus"], "No such command 'bogus'"),
    (["compute", "--clip", "abc", "-t", "1", "-p", ".5"], "Invalid value for '--clip'"),
    (["explain", "-t", "[[1,0]]", "-p", "[[0.9,0.1]]", "--rows", "-1"], "--rows -1 is not a positive number"),
])
def test_usage_errors_are_one_xent_line_with_exit_2(args, says):
    done = CliRunner().invoke(app, args, catch_exceptions=False)
    assert done.exit_code == 2
    assert done.stderr.startswith("xent: error: ") and done.stderr.count("\n") == 1, done.stderr
    assert says in done.stderr and done.stdout == ""


def test_numpy_runtime_warnings_never_reach_stderr():
    """A command whose maths warns (log 0 inside core) prints xent's warning only: the process-wide
    filter is what stops numpy's text (with its source path) from leaking."""
    code = ("import numpy as np, xentropy_cli.core.explain as e\n"
            "orig = e.diverge\n"
            "def noisy(*a, **k):\n"
            "    np.log(np.zeros(2)); np.zeros(1) / np.zeros(1)\n"
            "    return orig(*a, **k)\n"
            "e.diverge = noisy\n"
            "from xentropy_cli.cli import app\n"
            "app(['explain', '-t', '[[1,0]]', '-p', '[[0,1]]', '-f', 'json'], prog_name='xent')\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "RuntimeWarning" not in done.stderr and ".py:" not in done.stderr, done.stderr
    assert all(line.startswith("xent: warning: ") for line in done.stderr.splitlines()), done.stderr


def test_escape_bytes_in_file_names_are_shown_escaped(tmp_path):
    name = tmp_path / "a\x1b[2J\x07b.csv"
    done = CliRunner().invoke(app, ["compute", str(name)], catch_exceptions=False)
    assert done.exit_code == 2
    assert "\x1b" not in done.stderr and "\x07" not in done.stderr
    assert "a\\x1b[2J\\x07b.csv: no such file" in done.stderr


# --- -o: whole or not at all, and never replacing what it should write through -----------------

def _compute_to(target, *extra, input=None, env=None):
    return CliRunner().invoke(app, ["compute", *extra, "-o", str(target)] if extra else
                              ["compute", "-t", "[[1,0],[0,1]]", "-p", "[[0.9,0.1],[0.2,0.8]]", "-o",
                               str(target)], input=input, env=env, catch_exceptions=False)


def _no_temporary_files(folder: Path) -> None:
    assert not [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]


def test_output_replaces_a_regular_file_keeping_its_mode(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old\n")
    target.chmod(0o640)
    assert _compute_to(target).exit_code == 0
    assert target.read_text() == CSV_VALUE
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    fresh = tmp_path / "new.txt"
    assert _compute_to(fresh).exit_code == 0
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o666 & ~umask
    _no_temporary_files(tmp_path)


def test_output_writes_through_symlinks(tmp_path):
    real = tmp_path / "real.txt"
    real.write_text("old\n")
    link = tmp_path / "link.txt"
    link.symlink_to(real)
    chain = tmp_path / "chain.txt"
    chain.symlink_to(link)
    dangling = tmp_path / "dangling.txt"
    dangling.symlink_to(tmp_path / "created.txt")
    for target in (link, chain, dangling):
        assert _compute_to(target).exit_code == 0
        assert target.is_symlink()
    assert real.read_text() == CSV_VALUE
    assert (tmp_path / "created.txt").read_text() == CSV_VALUE
    _no_temporary_files(tmp_path)


def test_output_writes_fifos_and_device_nodes_directly(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    got = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_text()))
    reader.start()
    assert _compute_to(fifo).exit_code == 0
    reader.join(10)
    assert got == [CSV_VALUE] and stat.S_ISFIFO(fifo.stat().st_mode)
    if os.geteuid() != 0:
        pytest.skip("making device nodes needs root")
    null = tmp_path / "null"
    os.mknod(null, stat.S_IFCHR | 0o666, os.makedev(1, 3))  # a private copy of /dev/null
    assert _compute_to(null).exit_code == 0
    assert stat.S_ISCHR(null.stat().st_mode)
    full = tmp_path / "full"
    os.mknod(full, stat.S_IFCHR | 0o666, os.makedev(1, 7))  # a private copy of /dev/full
    done = _compute_to(full)
    assert done.exit_code == 1 and done.stderr.count("\n") == 1
    assert f"cannot write {full}: No space left on device" in done.stderr
    assert stat.S_ISCHR(full.stat().st_mode)
    _no_temporary_files(tmp_path)


def test_output_through_a_link_to_stdout_leaves_the_link(tmp_path):
    link = tmp_path / "stdout"
    link.symlink_to("/proc/self/fd/1")
    done = xent(["compute", "-t", "[[1,0],[0,1]]", "-p", "[[0.9,0.1],[0.2,0.8]]", "-o", link])
    assert done.returncode == 0 and done.stdout == CSV_VALUE.encode()
    assert link.is_symlink()


def test_output_refuses_a_directory_and_the_inputs(tmp_path):
    data = tmp_path / "d.csv"
    data.write_text(CSV)
    before = data.read_bytes(), data.stat().st_mtime_ns
    link = tmp_path / "link.csv"
    link.symlink_to(data)
    hard = tmp_path / "hard.csv"
    os.link(data, hard)
    weight = tmp_path / "w.csv"
    weight.write_text("1\n2\n")
    done = _compute_to(tmp_path, str(data))
    assert done.exit_code == 2 and done.stderr == (
        f"xent: error: {tmp_path} is a directory; -o takes a file; name a file in it, e.g. "
        f"{tmp_path / 'out.json'}\n")
    cases = [(data, [str(data)], None), (link, [str(data)], None), (hard, [str(link)], None),
             (data, [str(data)], {"XENT_STREAM_MIN_BYTES": "1"}),  # the streamed path
             (weight, [str(data), "-w", str(weight)], None)]
    for target, args, env in cases:
        done = _compute_to(target, *args, env=env)
        assert done.exit_code == 2, done.stderr
        assert done.stderr == (f"xent: error: {target} is an input of this run; writing it would destroy "
                               "the data; choose another output file\n")
    with data.open("rb") as stdin:  # the same file given as a < redirect
        done = xent(["compute", "-", "-o", data], stdin=stdin)
    one_error_line(done, 2, "is an input of this run")
    assert (data.read_bytes(), data.stat().st_mtime_ns) == before
    assert weight.read_text() == "1\n2\n"
    _no_temporary_files(tmp_path)


# --- hostile input: bounded memory, bounded time, clear errors ----------------------------------

def test_hostile_inputs_end_in_one_line_with_bounded_memory(tmp_path):
    """Each run under the caps: peak RSS (wait4: the process and its workers) under 500 MB."""
    single_line = tmp_path / "line.csv"
    single_line.write_bytes(b"0.5," * 12_500_000 + b"0.5\n")  # 50 MB, one line
    long_header = tmp_path / "header.csv"
    long_header.write_bytes(b"true_0," + b"x" * (6 << 20) + b"\n1,0.5\n")
    bomb = tmp_path / "bomb.npz"  # a member that declares 3 GB (a real bomb: test_errors.py)
    np.savez(bomb, y_true=np.eye(2), y_pred=np.eye(2))
    packed = bytearray(bomb.read_bytes())
    central = packed.find(b"PK\x01\x02")
    packed[central + 24:central + 28] = (3 << 30).to_bytes(4, "little")  # its uncompressed size
    bomb.write_bytes(bytes(packed))
    zero = open("/dev/zero", "rb")  # noqa: SIM115 - an input only, as the issue allows
    runs = [
        (["compute", "/dev/zero"], None, "/dev/zero:1: is a binary file"),
        (["compute", "-"], zero, "<stdin>:1: is a binary file"),
        (["explain", "-"], zero, "<stdin>:1: is a binary file"),
        (["grad", "-"], zero, "<stdin>:1: is a binary file"),
        (["compute", bomb], None, "is 3072 MiB, beyond the 64 MiB"),
        (["compute", single_line], None, "is 48 MiB, beyond the 16 MiB"),
        (["compute", long_header], None, "header.csv:1: this line is longer than 4 MiB"),
    ]
    yes = subprocess.Popen(["yes", "0.5,0.5"], stdout=subprocess.PIPE)  # endless text
    # grad reads stdin in memory (compute, explain and compare stream it through a spooled copy)
    runs.append((["grad", "-"], yes.stdout, "<stdin>: goes on, beyond the 16 MiB"))
    from concurrent.futures import ThreadPoolExecutor

    def run(case):
        args, stdin, says = case
        return xent(args, stdin=stdin if stdin is not None else subprocess.DEVNULL, timeout=60)

    try:
        with ThreadPoolExecutor(2) as pool:
            results = list(pool.map(run, runs))
    finally:
        yes.kill()
        yes.wait()
        zero.close()
    for (args, _, says), done in zip(runs, results, strict=True):
        one_error_line(done, 1, says)
        assert done.peak_rss < MEMORY_BOUND, (args, done.peak_rss)
        print(f"peak RSS {done.peak_rss >> 20} MiB, {done.seconds:.2f} s: xent {' '.join(map(str, args))}")
    assert len(runs) == 8


def _spool_files(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.startswith("xent-stdin-")]


# Signal races need many runs; a fresh interpreter per run costs a second of imports on a busy
# machine. This driver imports xent once, then forks one real process per run (its own pid,
# signals delivered by the kernel, stdin a pipe from `yes`, its own exit status).
FORK_DRIVER = r"""
import json, os, random, signal, subprocess, sys, time
import numpy  # noqa: F401 - imported once, before the forks
from xentropy_cli.cli import app
import xentropy_cli.engines.stream  # noqa: F401
spec = json.loads(sys.argv[1])
rng = random.Random(spec["seed"])
results = []
for i in range(spec["runs"]):
    folder = os.path.join(spec["tmp"], f"run{i}")
    os.mkdir(folder)
    os.environ["TMPDIR"] = folder
    import tempfile; tempfile.tempdir = None
    target = os.path.join(folder, spec["target"]) if spec["target"] else None
    if target:
        open(target, "wb").write(b"before\n")
    read, write = os.pipe()
    feeder = subprocess.Popen(["yes", "1,0,0.25,0.75"], stdout=write) if spec["feed"] else None
    os.close(write)
    err_path = os.path.join(folder, "stderr")
    blocked = {signal.SIGINT, signal.SIGTERM}
    signal.pthread_sigmask(signal.SIG_BLOCK, blocked)  # until the child stands inside its try
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, blocked)
            os.dup2(read, 0)
            out = os.open(os.path.join(folder, "stdout"), os.O_WRONLY | os.O_CREAT)
            err = os.open(err_path, os.O_WRONLY | os.O_CREAT)
            os.dup2(out, 1); os.dup2(err, 2)
            sys.stdin = open(0, "r", closefd=False)
            code = app([a.replace("{folder}", folder) for a in spec["args"]], prog_name="xent",
                       standalone_mode=False)
        except KeyboardInterrupt:  # before app's guard: a real xent exits 130 there too
            code = 130
        finally:  # a signal landing after app returned is the driver's race, not xent's
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
            sys.stdout.flush(); sys.stderr.flush()
            os._exit(code if isinstance(code, int) else 1)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, blocked)
    os.close(read)
    deadline = time.monotonic() + 30
    while spec["wait_for_spool"] and time.monotonic() < deadline and not any(
            n.startswith("xent-stdin-") for n in os.listdir(folder)):
        time.sleep(0.005)
    time.sleep(rng.uniform(*spec["delay"]))
    signum = signal.SIGTERM if i % 2 else signal.SIGINT
    sent = time.monotonic()
    os.kill(pid, signum)
    _, status = os.waitpid(pid, 0)
    waited = time.monotonic() - sent
    if feeder is not None:
        feeder.kill(); feeder.wait()
    left = sorted(n for n in os.listdir(folder) if n.startswith(("xent-stdin-", ".")))
    import hashlib
    digest = hashlib.sha256(open(target, "rb").read()).hexdigest() if target else None
    results.append({"signal": int(signum), "status": os.waitstatus_to_exitcode(status), "waited": waited,
                    "left": left, "stderr": open(err_path).read(), "target": digest})
print(json.dumps(results))
"""


def _fork_runs(tmp_path: Path, args: list[str], runs: int, *, feed=True, wait_for_spool=True,
               delay=(0.0, 0.3), seed=15, target=None) -> list[dict]:
    spec = {"args": args, "runs": runs, "feed": feed, "wait_for_spool": wait_for_spool, "delay": delay,
            "seed": seed, "tmp": str(tmp_path), "target": target}
    done = subprocess.run([sys.executable, "-c", FORK_DRIVER, json.dumps(spec)], capture_output=True,
                          text=True, cwd=ROOT, timeout=180, preexec_fn=_caps)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_signals_always_end_the_run_and_remove_the_stdin_spool(tmp_path):
    """Endless text on stdin is copied to a spool file; SIGINT or SIGTERM at a random moment of the
    copy ends the run with 130 or 143 within a second, every time, and the spool is gone.
    30 runs: a 1-in-10 race escapes all of them with probability 0.9**30 ≈ 0.04."""
    results = _fork_runs(tmp_path, ["compute", "-"], 30)
    for i, run in enumerate(results):
        assert run["status"] == 128 + run["signal"], (i, run)
        assert "Traceback" not in run["stderr"], run["stderr"]
        assert run["left"] == [], (i, run["left"])
    assert max(run["waited"] for run in results) < 1.0, [run["waited"] for run in results]
    assert len(results) == 30


def _fds(pid: int) -> list[str]:
    try:
        return os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return []


def _has_open(pid: int, path: Path) -> bool:
    """Whether process ``pid`` has ``path`` open (its descriptors come and go while we look)."""
    for fd in _fds(pid):
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}") == str(path):
                return True
        except OSError:
            continue
    return False


def test_ctrl_c_on_a_blocked_read_is_honoured_within_a_second(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    waits = []
    for _ in range(3):
        writer = os.open(fifo, os.O_RDWR)  # held open, never written: xent blocks in read
        process = subprocess.Popen(XENT + ["compute", str(fifo)], stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, cwd=ROOT, preexec_fn=_caps)
        deadline = time.monotonic() + 30  # until it has the FIFO open (and so sits in read)
        while time.monotonic() < deadline and not _has_open(process.pid, fifo):
            time.sleep(0.01)
        time.sleep(0.1)
        sent = time.monotonic()
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=30)
        waited = time.monotonic() - sent
        os.close(writer)
        assert process.returncode == 130 and b"Traceback" not in stderr
        waits.append(waited)
    # within a second; a loaded machine may stall one run, never all three (measured 0.2–0.3 s)
    assert min(waits) < 1.0 and max(waits) < 5.0, waits


def test_signals_while_writing_output_leave_the_old_file_or_the_whole_new_one(tmp_path):
    """-o with a per-sample CSV of 200,000 rows: SIGINT/SIGTERM at any moment (16 runs) leaves no
    temporary file, and the target holds what it held before or the complete output, never part."""
    import hashlib

    n = 200_000
    data = tmp_path / "d.csv"
    r = np.random.default_rng(0)
    np.savetxt(data, np.column_stack([r.integers(0, 2, n), r.random(n) * 0.98 + 0.01]), delimiter=",",
               fmt=["%d", "%.6f"], header="label,prob", comments="")
    whole = tmp_path / "whole.csv"
    args = ["compute", str(data), "--reduction", "none", "--format", "csv", "-o"]
    done = CliRunner().invoke(app, [*args, str(whole)], catch_exceptions=False)
    assert done.exit_code == 0 and whole.read_bytes().count(b"\n") == n + 1
    complete = hashlib.sha256(whole.read_bytes()).hexdigest()
    before = hashlib.sha256(b"before\n").hexdigest()
    runs = tmp_path / "runs"
    runs.mkdir()
    results = _fork_runs(runs, [*args, "{folder}/out.csv"], 16, feed=False, wait_for_spool=False,
                         delay=(0.0, 0.6), seed=16, target="out.csv")
    for i, run in enumerate(results):
        assert run["status"] in (0, 128 + run["signal"]), (i, run)
        assert "Traceback" not in run["stderr"], run["stderr"]
        assert run["left"] == [], (i, run["left"])  # no .out.csv.*.tmp
        assert run["target"] in (before, complete), i
    outcomes = {run["target"] for run in results}
    assert before in outcomes  # some signals landed before the rename


def test_a_full_disk_while_writing_output_is_one_line_and_leaves_the_old_file(tmp_path):
    """RLIMIT_FSIZE stands in for a full disk (Python ignores SIGXFSZ: the write fails with EFBIG)."""
    target = tmp_path / "out.csv"
    target.write_text("before\n")
    p = ",".join(["0.5"] * 2000)

    def small_files():
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))

    done = subprocess.run(XENT + ["compute", "-t", ",".join(["1"] * 2000), "-p", p, "--reduction", "none",
                                  "--format", "csv", "-o", str(target)], capture_output=True, text=True,
                          cwd=ROOT, timeout=60, preexec_fn=small_files)
    assert done.returncode == 1, done.stderr
    assert done.stderr == f"xent: error: cannot write {target}: File too large; check the disk space and " \
                          "permissions there\n"
    assert target.read_text() == "before\n"
    _no_temporary_files(tmp_path)


def test_inputs_read_whole_stay_under_the_memory_bound_at_their_caps(tmp_path):
    """What is read in memory is capped (16 MiB of text; numbers: each command's share of
    6,000,000, io.source.COMMAND_SHARE): the costliest input of each kind just under its cap stays
    under 500 MB in the costliest commands (before: explain on a 31 MiB JSON of short numbers
    893 MB, compare on 8,000,000 float64 cells 1.5 GB, the emulated log kernels' temporaries;
    1-D float64 binary logits under optax/naive at 6,000,000: grad 883 MB, explain 572 MB), and
    just over it is one line."""
    rng = np.random.default_rng(15)
    n = 690_000  # quoted CSV (read whole: a str per cell), 24 bytes a row: 15.8 MiB
    quoted = tmp_path / "quoted.csv"
    y = np.eye(3, dtype=np.int8)[rng.integers(0, 3, n)]
    p = rng.dirichlet(np.ones(3), n)
    with open(quoted, "w") as handle:
        handle.write('"true_0","true_1","true_2","pred_0","pred_1","pred_2"\n')
        np.savetxt(handle, np.hstack([y, p]), fmt=["%d"] * 3 + ["%.3f"] * 3, delimiter=",")
    assert 15 << 20 < quoted.stat().st_size < 16 << 20
    wide = tmp_path / "wide.npz"  # float64, just under 6,000,000 numbers
    m = 6_000_000 // 20 - 8
    q = rng.random((m, 10)) + 0.01
    np.savez(wide, y_true=np.eye(10)[rng.integers(0, 10, m)], y_pred=q / q.sum(1, keepdims=True))
    short = tmp_path / "short.json"  # two bytes a number: 6,000,400 of them in 11.4 MiB
    row = "[" + ",".join(["0"] * 99 + ["1"]) + "]"
    rows = ",".join([row] * 30_002)
    short.write_text('{"y_true":[' + rows + '],"y_pred":[' + rows + "]}")
    logits = {}  # 1-D float64 binary logits, the costliest layout per number, at each share
    for command, share in (("compute", 0.85), ("explain", 0.8), ("grad", 0.5)):
        pairs = int(6_000_000 * share) // 2 - 8
        logits[command] = tmp_path / f"logits_{command}.npz"
        np.savez(logits[command], y_true=rng.integers(0, 2, pairs).astype(np.float64),
                 y_pred=rng.normal(0.0, 3.0, pairs))
    runs = [(["explain", quoted], None), (["compare", wide], None),
            (["compute", logits["compute"], "--from-logits", "--profile", "optax"], None),
            (["explain", logits["explain"], "--from-logits"], None),
            (["grad", logits["grad"], "--from-logits", "--profile", "optax"], None),
            (["explain", short], "short.json: holds about 6,000,400 numbers, beyond the 4,800,000")]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda run: xent([*run[0], "-q"], timeout=180), runs))
    for (args, says), done in zip(runs, results, strict=True):
        print(f"peak RSS {done.peak_rss >> 20} MiB, {done.seconds:.2f} s: xent {' '.join(map(str, args))}")
        if says:
            one_error_line(done, 1, says)
        else:
            assert done.returncode == 0, (args, done.stderr)
        assert done.peak_rss < MEMORY_BOUND, (args, done.peak_rss)


@pytest.mark.parametrize("command", ["compute", "explain"])
def test_endless_text_on_stdin_stops_at_the_spool_limit_and_leaves_nothing(tmp_path, command):
    """`yes | xent compute -`: the copy to disk is capped (XENT_MAX_STDIN_MB, 2 GiB by default),
    then one line saying to write a file; no temporary file is left and memory stays small
    (compare spools stdin through the same engines.spool_stdin)."""
    yes = subprocess.Popen(["yes", "0.5,0.5"], stdout=subprocess.PIPE)
    try:
        env = {"XENT_MAX_STDIN_MB": "24", "TMPDIR": str(tmp_path)}
        done = xent([command, "-"], stdin=yes.stdout, env=env)
    finally:
        yes.kill()
        yes.wait()
    one_error_line(done, 1, "<stdin>: goes on beyond the 24 MiB of stdin that xent copies to a temporary "
                            "file; write it to a file and name the file")
    assert "XENT_MAX_STDIN_MB=<megabytes>" in done.stderr
    assert list(tmp_path.iterdir()) == []
    assert done.peak_rss < 100 << 20, done.peak_rss


def _launchers() -> list[list[str]]:
    script = Path(sys.executable).parent / ("xent.exe" if os.name == "nt" else "xent")
    return ([[str(script)]] if script.exists() else []) + [XENT]


@pytest.mark.parametrize("launcher", _launchers(), ids=lambda argv: Path(argv[-1]).name)
def test_ctrl_c_at_any_moment_of_start_up_exits_130_quietly(launcher):
    """SIGINT at 12 moments spread over a whole small run (start-up imports included): never a
    traceback through xent's code, never a success without the whole answer (a signal that lands
    as the finished run leaves, after its last line of Python, is too late to count). A signal
    that lands before xent's first line runs (the interpreter's own start-up) is Python's to
    handle; the runs that land later, most of them, end with 130 and an empty line."""
    args = [*launcher, "compute", "-t", "[[1,0]]", "-p", "[[0.5,0.5]]"]
    began = time.monotonic()
    answer = subprocess.run(args, capture_output=True, cwd=ROOT, timeout=60, check=True).stdout
    whole = time.monotonic() - began
    quiet = 0
    for i in range(12):
        process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)
        time.sleep(whole * i / 12)
        if process.poll() is not None:  # it finished first: nothing to interrupt
            process.communicate()
            continue
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
        ours = f"{os.sep}xentropy_cli{os.sep}".encode()  # a frame of the package's files
        assert ours not in err, (i, process.returncode, err.decode()[-800:])
        if process.returncode == 0:  # the signal came as the finished run was leaving: whole answer
            assert out == answer and err == b"", (i, out, err)
            continue
        if process.returncode == 130:
            assert err.strip() == b"" and out == b"", (i, out, err)
            quiet += 1
    assert quiet >= 4, quiet


def test_importing_the_package_leaves_signal_handling_alone():
    code = ("import signal, xentropy_cli as x; before = signal.getsignal(signal.SIGINT); "
            "x.compute([[1, 0]], [[0.5, 0.5]]); from xentropy_cli.cli import app; "
            "app(['profiles'], standalone_mode=False); "
            "print(before is signal.default_int_handler, signal.getsignal(signal.SIGINT) is before)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert done.stdout.splitlines()[-1] == "True True", done.stderr


SWALLOWED = """
import os, signal, sys, weakref
from xentropy_cli import errors

def _quiet_interrupts():  # stands in for the package's start-up handler (the xent command)
    def interrupted(signum, frame):
        os._exit(9)
    return interrupted

signal.signal(signal.SIGINT, _quiet_interrupts())

def command():
    class Thing:
        pass
    thing = Thing()

    def callback(ref):  # where Python can only report an exception ("Exception ignored in")
        os.kill(os.getpid(), signal.SIGINT)
        sum(range(100000))

    ref = weakref.ref(thing, callback)
    del thing
    print("finished")
    return 0

errors.run_main(command)
"""


def test_a_ctrl_c_python_swallows_still_ends_the_run_with_130():
    """A KeyboardInterrupt raised inside a weakref callback (seen in importlib's module locks) is
    only reported by Python, and the run went on to exit 0: now 130, with no traceback."""
    done = subprocess.run([sys.executable, "-c", SWALLOWED], capture_output=True, text=True, cwd=ROOT,
                          timeout=60)
    assert done.returncode == 130, (done.returncode, done.stderr)
    assert done.stderr.strip() == "", done.stderr


def test_the_command_freezes_the_heap_before_the_interpreter_exits():
    """run_main (standalone: the xent command) moves every object to gc's permanent generation
    before sys.exit, so the interpreter's exit does not walk them all again; the API (standalone
    False) leaves a program's collector alone."""
    probe = ("import atexit, gc, sys\n"
             "from xentropy_cli import errors\n"
             "atexit.register(lambda: sys.stderr.write(f'frozen {gc.get_freeze_count()}\\n'))\n"
             "print(errors.run_main(lambda: 0, standalone=sys.argv[1] == 'yes'))\n")
    for standalone, frozen in (("yes", True), ("no", False)):
        done = subprocess.run([sys.executable, "-c", probe, standalone], capture_output=True, text=True,
                              timeout=60)
        assert done.returncode == 0, done.stderr
        count = int(done.stderr.split("frozen ")[1])
        assert (count > 1000) is frozen, (standalone, count)


def test_the_command_shortens_openblas_idle_spin_and_a_program_keeps_its_environment(tmp_path):
    """The xent command (a script named xent) sets OPENBLAS_THREAD_TIMEOUT before numpy loads,
    unless the user set it; a program importing the package gets no change."""
    show = ("import os, sys, xentropy_cli\n"
            "print(os.environ.get('OPENBLAS_THREAD_TIMEOUT'), 'numpy' in sys.modules)\n")
    script = tmp_path / "xent"
    script.write_text(show)
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_THREAD_TIMEOUT"}

    def run(*args: str, **extra: str) -> str:
        done = subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=60,
                              env={**env, **extra}, cwd=ROOT)
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    assert run(str(script)) == "4 False"
    assert run(str(script), OPENBLAS_THREAD_TIMEOUT="30") == "30 False"
    assert run("-c", show) == "None False"


def test_a_run_that_loaded_llvm_ends_with_its_output_whole_and_nothing_left(tmp_path):
    """Once LLVM is loaded the command ends by os._exit after the atexit handlers (LLVM's C++
    destructors would read its code back into memory): the output file is whole, the warnings
    are on stderr, stdin's spooled copy and the per-sample files are gone, the exit code is the
    run's, and peak memory is a streamed run's."""
    pytest.importorskip("llvmlite")
    rng = np.random.default_rng(31)
    p = rng.dirichlet(np.ones(4), 20_000)
    p[::997, 0] = 0.0  # log 0: a warning
    y = rng.integers(0, 4, 20_000)
    body = "label,prob_0,prob_1,prob_2,prob_3\n" + "".join(
        f"{a}," + ",".join(repr(float(v)) for v in row) + "\n" for a, row in zip(y, p, strict=True))
    path = tmp_path / "p.csv"
    path.write_text(body)
    work = tmp_path / "tmp"
    work.mkdir()
    env = {"XENT_STREAM_MIN_BYTES": "0", "XENT_READER": "llvmlite", "XENT_CHUNK_BYTES": "65536",
           "TMPDIR": str(work)}
    out = tmp_path / "rows.csv"
    done = xent(["compute", path, "--reduction", "none", "--format", "csv", "-o", out, "-v"], env=env)
    assert done.returncode == 0, done.stderr
    assert "streamed in chunks" in done.stderr and "warning:" in done.stderr
    from xentropy_cli import io as xio
    from xentropy_cli.core import pipeline, profiles
    from xentropy_cli.core.types import Options

    want = pipeline.run(xio.read([str(path)]), profiles.get("naive"), Options(reduction="none"))
    rows = out.read_text().splitlines()
    assert len(rows) == 20_001 and float(rows[-1].split(",")[-1]) == float(want.per_sample[-1])
    with open(path, "rb") as stdin:  # stdin: copied to a temporary file first, removed at exit
        piped = xent(["compute", "-", "--strict"], stdin=stdin, env={**env, "XENT_STREAM_MIN_BYTES": "1000"})
    assert piped.returncode == 1 and "warning" in piped.stderr  # --strict: the warning is exit 1
    assert list(work.iterdir()) == []
    assert done.peak_rss < 200 << 20 and piped.peak_rss < 200 << 20
