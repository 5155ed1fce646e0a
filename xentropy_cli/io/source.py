"""Getting bytes from a path or stdin, decoding them to text, and deciding their format.

Memory is bounded by design, whatever the source (an endless device, a pipe that never closes, a
single line of 50 MB): bytes are read a block at a time, a binary stream (NUL bytes) is refused
at its first block, input read whole into memory is capped (``max_bytes``), and line-oriented
text (CSV/TSV/JSON Lines) has a line-length cap (``max_line``). Each block read is a point where
Ctrl-C is honoured.
"""

from __future__ import annotations

import contextlib
import contextvars
import math
import os
import stat
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

from xentropy_cli.errors import DataError, UsageError

STDIN_NAME = "<stdin>"
FORMATS = ("auto", "csv", "tsv", "json", "jsonl", "npy", "npz", "parquet")
PARQUET_EXTENSIONS = (".parquet", ".pq", ".parq")  # read by io.parquet, not from bytes here
NPY_MAGIC = b"\x93NUMPY"
ZIP_MAGIC = b"PK\x03\x04"
EMPTY_ZIP_MAGIC = b"PK\x05\x06"
BINARY_MAGIC = (NPY_MAGIC, ZIP_MAGIC, EMPTY_ZIP_MAGIC)
_EXTENSIONS = {
    ".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".json": "json", ".jsonl": "jsonl",
    ".ndjson": "jsonl", ".npy": "npy", ".npz": "npz",
}
BLOCK = 1 << 20
NEWLINE = b"\n"
MAX_TEXT_BYTES = 16 << 20  # text read whole (JSON, JSON Lines, CSV not streamed): up to ~22× this at
# the peak (JSON Lines: a dict per record; quoted CSV: a str per cell), under the 500 MB bound
MAX_BINARY_BYTES = 64 << 20  # .npy / .npz (members counted as inflated)
# numbers held in memory at once (y_true, y_pred and weights together), by the command that reads
# them whole: its share of MAX_CELLS, since what it holds per number differs (explain keeps every
# stage of two profiles, grad a backward pass too). The costliest layout measured (1-D float64
# binary logits, under optax or naive; 7 profiles) peaks at 446–465 MB at each share, under the
# 500 MB bound (tests/test_process.py)
MAX_CELLS = 6_000_000
COMMAND_SHARE = {"compute": 0.85, "explain": 0.8, "compare": 1.0, "grad": 0.5}
CELLS_ENV = "XENT_MAX_CELLS"
_SHARE: contextvars.ContextVar[float] = contextvars.ContextVar("xent_cells_share", default=1.0)
MAX_LINE_BYTES = 4 << 20  # one CSV row or JSON Lines record
MAX_SPOOL_BYTES = 2 << 30  # stdin copied to a temporary file to be streamed (about 17M rows of a dump)
SPOOL_ENV = "XENT_MAX_STDIN_MB"
LIMIT_ENV = "XENT_MAX_INPUT_MB"  # raises (or lowers) both whole-input caps
_LIMIT_HINT = (f"CSV/TSV without quotes is read in chunks at any size; or raise the limit "
               f"with {LIMIT_ENV}=<megabytes>")


@contextlib.contextmanager
def held_by(command: str | None) -> Iterator[None]:
    """Within: numbers are read whole up to ``command``'s share of the cap (``COMMAND_SHARE``);
    a limit set in the environment stays as set."""
    token = _SHARE.set(COMMAND_SHARE.get(command or "", 1.0))
    try:
        yield
    finally:
        _SHARE.reset(token)


def env_positive(name: str, parse: Callable[[str], float] = float) -> float:
    """The positive number set in the environment variable ``name``; 0 when it is unset, not a
    finite number (as ``parse`` reads it) or not positive, so the caller's default applies."""
    try:
        value = parse(os.environ.get(name, "") or "0")
    except ValueError:
        return 0
    return value if 0 < value < math.inf else 0


def max_bytes(binary: bool) -> int:
    """How many bytes xent reads whole into memory: ``XENT_MAX_INPUT_MB`` or the default."""
    mb = env_positive(LIMIT_ENV)
    if mb:
        return int(mb * (1 << 20))
    return MAX_BINARY_BYTES if binary else MAX_TEXT_BYTES


def max_cells() -> int:
    """How many numbers xent holds in memory at once: ``XENT_MAX_CELLS``, or the command's share
    of ``MAX_CELLS`` (see ``held_by``)."""
    return int(env_positive(CELLS_ENV, int)) or int(MAX_CELLS * _SHARE.get())


def check_cells(count: int, name: str, about: bool = False) -> None:
    """Refuse ``count`` numbers (``about``: an upper estimate from the separators in the text)
    beyond ``max_cells()``, before they are parsed or converted."""
    limit = max_cells()
    if count > limit:
        raise DataError(f"holds {'about ' if about else ''}{count:,} numbers, beyond the {limit:,} "
                        f"that xent holds in memory", where=name,
                        hint=f"CSV/TSV without quotes is read in chunks at any size by compute, explain "
                             f"and compare; or raise the limit with {CELLS_ENV}=<count>")


def count_text_cells(data: bytes, json: bool) -> int:
    """An upper bound on the numbers in a text: a JSON document of nested lists of n numbers
    has n − 1 commas (object keys add more); a table or JSON Lines one per separator or line."""
    commas = data.count(b",")
    return commas + 1 if json else commas + data.count(b"\t") + data.count(NEWLINE) + 1


def max_spool() -> int:
    """How many bytes of stdin xent copies to a temporary file: ``XENT_MAX_STDIN_MB`` or 2 GiB."""
    mb = env_positive(SPOOL_ENV)
    return int(mb * (1 << 20)) if mb else MAX_SPOOL_BYTES


def max_line() -> int:
    """The longest line read: ``XENT_MAX_LINE_BYTES`` if it is a positive integer, else the default."""
    return int(env_positive("XENT_MAX_LINE_BYTES", int)) or MAX_LINE_BYTES


def _mb(n: int) -> str:
    return f"{n / (1 << 20):.0f} MiB"


@dataclass(frozen=True)
class Raw:
    """The bytes of one source and the name to show in messages."""

    name: str
    data: bytes
    extension: str = ""


def load(path: str, stdin: BinaryIO | None = None) -> Raw:
    """Read all bytes of ``path`` (``-`` = stdin). Path problems are UsageErrors, the rest DataErrors."""
    if path == "-":
        return _load_stdin(stdin)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise UsageError("no such file", where=path, hint="check the path, or use - to read stdin") from None
    except PermissionError:
        raise DataError("cannot be reached: permission denied (a folder on its path cannot be searched)",
                        where=path, hint="check the permissions of the folders on the path") from None
    except OSError as exc:
        raise DataError(f"cannot be read: {exc.strerror or exc}", where=path,
                        hint="check the path and the disk it is on") from None
    if stat.S_ISDIR(info.st_mode):
        raise UsageError("is a directory, not a file", where=path,
                         hint="name a .csv, .tsv, .json, .jsonl, .npy or .npz file")
    try:
        with open(path, "rb") as handle:
            from xentropy_cli import output

            output.note_input(handle.fileno())
            data = read_bounded(handle, path, info.st_size if stat.S_ISREG(info.st_mode) else None,
                                os.path.splitext(path)[1].lower())
    except PermissionError:
        raise DataError("cannot be read: permission denied", where=path,
                        hint="check the file's permissions") from None
    except OSError as exc:
        raise DataError(f"cannot be read: {exc.strerror or exc}", where=path,
                        hint="check the file and the disk it is on") from None
    return Raw(path, data, os.path.splitext(path)[1].lower())


def read_bounded(handle: BinaryIO, name: str, size: int | None = None, extension: str = "") -> bytes:
    """All bytes of ``handle``, a block at a time, refusing anything beyond ``max_bytes``.

    ``size``: a regular file's size (checked before reading). Otherwise (a pipe, a device) the
    first block decides: .npy/.npz magic, or text, where a NUL byte stops the read at once.
    """
    first = handle.read(BLOCK if size is None or size > BLOCK else size + 1)
    if not isinstance(first, bytes):  # a text stream was passed in
        return (first + handle.read()).encode("utf-8")
    binary = first.startswith(BINARY_MAGIC) or extension in (".npy", ".npz")
    check = size is None and not binary
    if check:
        refuse_binary(first, name)
    limit = max_bytes(binary)
    if size is not None and size > limit:
        raise too_large(name, size, limit, binary)
    blocks = [first]
    total = len(first)
    while first:
        first = handle.read(BLOCK)
        if not first:
            break
        if check and b"\x00" in first:
            refuse_binary(first, name, None)
        total += len(first)
        if total > limit:
            raise too_large(name, None, limit, binary)
        blocks.append(first)
    return b"".join(blocks)


def too_large(name: str, size: int | None, limit: int, binary: bool) -> DataError:
    what = f"is {_mb(size)}" if size is not None else "goes on"
    kind = ".npy/.npz" if binary else "JSON, JSON Lines or CSV read whole"
    return DataError(f"{what}, beyond the {_mb(limit)} that xent reads into memory as {kind}",
                     where=name, hint=_LIMIT_HINT)


def refuse_binary(block: bytes, name: str, lines_before: int | None = 0) -> None:
    """A NUL byte in text: a DataError naming its line (``lines_before``: newlines before
    ``block``; None when unknown)."""
    nul = block.find(b"\x00")
    if nul < 0:
        return
    where = name
    if lines_before is not None:
        where = f"{name}:{lines_before + block.count(NEWLINE, 0, nul) + 1}"
    raise DataError("is a binary file, not text (it holds NUL bytes)", where=where,
                    hint="give CSV, TSV, JSON, JSON Lines, .npy or .npz")


def check_lines(data: bytes, name: str) -> None:
    """No line longer than ``max_line()``: CSV rows and JSON Lines records are one sample each.

    From each line start, the last newline within the next ``cap`` bytes is the next start
    (every line skipped over is shorter than the cap); no newline there means this line is too
    long. About len/cap steps for ordinary files, each a C-speed search.
    """
    cap = max_line()
    start, size = 0, len(data)
    while size - start > cap:
        newline = data.rfind(NEWLINE, start, start + cap + 1)
        if newline < 0:
            raise _long_line(data.count(NEWLINE, 0, start) + 1, cap, name)
        start = newline + 1


def _load_stdin(stdin: BinaryIO | None) -> Raw:
    stream = stdin
    if stream is None:
        if sys.stdin is None:
            raise UsageError("there is no stdin to read", where=STDIN_NAME,
                             hint="pipe data in, or name a file")
        if sys.stdin.isatty():
            raise UsageError("stdin is a terminal, not data", where=STDIN_NAME,
                             hint="pipe data in (… | xent compute -), or name a file")
        stream = sys.stdin.buffer
        from xentropy_cli import output

        output.note_input(_fileno(stream))
    try:
        data = read_bounded(stream, STDIN_NAME)
    except OSError as exc:
        raise DataError(f"cannot be read: {exc.strerror or exc}", where=STDIN_NAME,
                        hint="check the program that writes to it") from None
    return Raw(STDIN_NAME, data)


def _fileno(stream) -> int | None:
    try:
        return stream.fileno()
    except (AttributeError, OSError, ValueError):
        return None


def decode(raw: Raw) -> str:
    """UTF-8 text (a UTF-8 or UTF-16 byte order mark is honoured and removed), newlines kept.

    Binary data (NUL bytes) and bytes that are not UTF-8 are DataErrors naming the line.
    """
    data = raw.data
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise DataError("is not valid UTF-16 text", where=raw.name,
                            hint="save it as UTF-8") from None
    refuse_binary(data, raw.name)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        start = exc.start + (3 if data.startswith(b"\xef\xbb\xbf") else 0)
        line = data.count(b"\n", 0, start) + 1
        column = start - (data.rfind(b"\n", 0, start) + 1) + 1
        raise DataError(f"byte 0x{data[start]:02x} is not UTF-8 text",
                        where=f"{raw.name}:{line}:{column}",
                        hint="save the file as UTF-8 (it may be Latin-1 or a binary file)") from None


def sniff(raw: Raw, forced: str = "auto") -> str:
    """The format of ``raw``: the forced one, else magic bytes, else the extension, else the content."""
    if forced not in FORMATS:
        raise UsageError(f"unknown input format {forced!r}", hint=f"choose one of {', '.join(FORMATS)}")
    if forced != "auto":
        return forced
    data = raw.data
    if data.startswith(NPY_MAGIC):
        return "npy"
    if data.startswith((ZIP_MAGIC, EMPTY_ZIP_MAGIC)):
        return "npz"
    by_extension = _EXTENSIONS.get(raw.extension)
    if by_extension in ("csv", "tsv"):
        return by_extension
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if by_extension in ("json", "jsonl", "npy", "npz"):
        return by_extension  # npy/npz with the wrong magic: their reader says so
    if head in (b"{", b"["):
        return "json"  # the JSON reader falls back to JSON Lines when it finds one object per line
    return "csv"



def spool(stream: BinaryIO, limit: int, name: str = STDIN_NAME) -> tuple[bytes | None, str | None]:
    """Read ``stream`` once: fewer than ``limit`` bytes come back as (bytes, None); more are copied
    a block at a time to a temporary file, (None, its path), removed at exit (signals included),
    of at most ``max_spool()`` bytes (disk is bounded too: an endless pipe is an error).

    Memory stays at one block. Text (anything without .npy/.npz magic) is checked as it passes:
    a NUL byte (``- < /dev/zero``) or a line beyond ``max_line()`` stops the copy at once.
    """
    from xentropy_cli import output

    output.note_input(_fileno(stream))
    head = bytearray()
    while len(head) < limit:
        block = stream.read(min(BLOCK, limit - len(head)))
        if not block:
            return bytes(head), None
        if not head and not block.startswith(BINARY_MAGIC):
            refuse_binary(block, name)
        head += block
    binary = head.startswith(BINARY_MAGIC)
    import tempfile

    fd, path = tempfile.mkstemp(prefix="xent-stdin-")
    output.track(path)
    try:
        with os.fdopen(fd, "wb") as copy:
            _copy_checked(stream, copy, bytes(head), binary, name)
    except BaseException:
        output.remove(path)
        raise
    return None, path


def _copy_checked(stream: BinaryIO, copy: BinaryIO, head: bytes, binary: bool, name: str) -> None:
    """Copy ``head`` then the rest of ``stream`` to ``copy``; text is checked block by block."""
    cap = max_line()
    room = max_spool()  # the disk the copy may take
    lines = 0  # newlines seen so far
    run = 0  # bytes since the last newline
    pending = [head[i:i + BLOCK] for i in range(0, len(head), BLOCK)]
    pending.reverse()
    while True:
        block = pending.pop() if pending else stream.read(BLOCK)
        if not block:
            return
        if not binary:
            refuse_binary(block, name, lines)
            last = block.rfind(b"\n")
            if last >= 0 and run + block.find(b"\n") > cap:
                raise _long_line(lines + 1, cap, name)
            if last >= 0:
                lines += block.count(b"\n")
                run = len(block) - last - 1
            else:
                run += len(block)
            if run > cap:
                raise _long_line(lines + 1, cap, name)
        room -= len(block)
        if room < 0:
            raise DataError(f"goes on beyond the {_mb(max_spool())} of stdin that xent copies to a "
                            f"temporary file", where=name,
                            hint=f"write it to a file and name the file (… > preds.csv; xent compute "
                                 f"preds.csv), or raise the limit with {SPOOL_ENV}=<megabytes>")
        try:
            copy.write(block)
        except OSError as exc:
            raise DataError(f"cannot be copied to a temporary file: {exc.strerror or exc}",
                            where=name, hint="free space in the temporary folder (TMPDIR), or "
                                             "pass the data as a file") from None


def _long_line(line: int, cap: int, name: str) -> DataError:
    return DataError(f"this line is longer than {_mb(cap)}", where=f"{name}:{line}",
                     hint="one line holds one sample; is this really CSV/TSV or JSON Lines? "
                          "(XENT_MAX_LINE_BYTES raises the cap)")
