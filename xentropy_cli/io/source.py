"""Getting bytes from a path or stdin, decoding them to text, and deciding their format."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import BinaryIO

from xentropy_cli.errors import DataError, UsageError

STDIN_NAME = "<stdin>"
FORMATS = ("auto", "csv", "tsv", "json", "jsonl", "npy", "npz", "parquet")
NPY_MAGIC = b"\x93NUMPY"
ZIP_MAGIC = b"PK\x03\x04"
EMPTY_ZIP_MAGIC = b"PK\x05\x06"
_EXTENSIONS = {
    ".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".json": "json", ".jsonl": "jsonl",
    ".ndjson": "jsonl", ".npy": "npy", ".npz": "npz",
}


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
    if not os.path.exists(path):
        raise UsageError("no such file", where=path, hint="check the path, or use - to read stdin")
    if os.path.isdir(path):
        raise UsageError("is a directory, not a file", where=path,
                         hint="name a .csv, .tsv, .json, .jsonl, .npy or .npz file")
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except PermissionError:
        raise DataError("cannot be read: permission denied", where=path,
                        hint="check the file's permissions") from None
    except OSError as exc:
        raise DataError(f"cannot be read: {exc.strerror or exc}", where=path,
                        hint="check the file and the disk it is on") from None
    return Raw(path, data, os.path.splitext(path)[1].lower())


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
    try:
        data = stream.read()
    except OSError as exc:
        raise DataError(f"cannot be read: {exc.strerror or exc}", where=STDIN_NAME,
                        hint="check the program that writes to it") from None
    if isinstance(data, str):  # a text stream was passed in
        data = data.encode("utf-8")
    return Raw(STDIN_NAME, data)


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
    nul = data.find(b"\x00", 0, 65536)
    if nul >= 0:
        line = data.count(b"\n", 0, nul) + 1
        raise DataError("is a binary file, not text", where=f"{raw.name}:{line}",
                        hint="give CSV, TSV, JSON, JSON Lines, .npy or .npz")
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
