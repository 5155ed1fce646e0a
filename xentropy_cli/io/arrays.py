"""Nested lists (from JSON or inline text) and .npy/.npz bytes to numpy arrays, with exact locations."""

from __future__ import annotations

import io
import math
import re
import warnings
from collections.abc import Sequence

import numpy as np

from xentropy_cli.errors import DataError

_NUMERIC_KINDS = "biuf"
# Only ASCII decimal numbers and the words nan, inf, infinity (any case, signed) are numbers: the
# tokens numpy.savetxt, pandas' to_csv and repr/float write and read. Python's float() also takes
# 1_0, full-width and Arabic-Indic digits, which no CSV writer means as numbers.
_NUMBER = re.compile(r"\s*[-+]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|inf(?:inity)?|nan)\s*",
                     re.ASCII | re.IGNORECASE)


def is_number_text(text: str) -> bool:
    """Whether ``text`` is an ASCII decimal number (``0.5``, ``-1e-7``, ``inf``, ``nan``)."""
    return _NUMBER.fullmatch(text) is not None


def number_from_text(text: str) -> float:
    """``float(text)`` for ASCII decimal numbers only; ValueError for anything else."""
    if _NUMBER.fullmatch(text) is None:
        raise ValueError(f"not an ASCII decimal number: {text!r}")
    return float(text)


class BadValue(Exception):
    """A value that is not a number, or a list of the wrong length, at ``path`` (indices)."""

    def __init__(self, path: tuple[int, ...], message: str):
        super().__init__(message)
        self.path = path
        self.message = message

    @property
    def hint(self) -> str:
        if "earlier ones" in self.message or "rectangular" in self.message:
            return "every row needs the same number of values"
        if "null" in self.message:
            return ("fill or drop that value; to compute with nan as the framework does, write NaN "
                    "(Python's json.dumps writes it) or \"nan\"")
        return "every value must be a number (nan, inf and -inf included)"


def path_text(name: str, path: Sequence[int]) -> str:
    """``y_pred[3][1]``."""
    return name + "".join(f"[{i}]" for i in path)


def to_float_array(obj: object) -> np.ndarray:
    """A nested list of numbers as a float64 array; BadValue names the first bad element.

    nan and ±inf (JSON's non-standard NaN, Infinity, -Infinity as Python's json reads them),
    numbers written as strings ("0.5", "nan", "-inf") and booleans are accepted; null, other
    text, objects and ragged lists are not.
    """
    try:
        probe = np.asarray(obj)
        array = None if probe.dtype.kind in "USO" else np.asarray(probe, dtype=np.float64)
    except (ValueError, TypeError, OverflowError, RecursionError):
        array = None
    if array is None:  # text (or mixed) cells: each string must be an ASCII decimal number
        try:
            problem = _find_bad(obj, ())
            array = None if problem else np.asarray(obj, dtype=np.float64)
        except (ValueError, TypeError, OverflowError, RecursionError):
            array = None
    if array is not None:
        return array
    try:
        problem = _find_bad(obj, ())
    except RecursionError:
        raise BadValue((), "is nested too deeply") from None
    if problem is None:  # numpy refused something the walk accepts: say what numpy said
        raise BadValue((), "is not a rectangular array of numbers")
    raise BadValue(*problem)


def _scalar_problem(value: object) -> str | None:
    if isinstance(value, bool):
        return None
    if value is None:
        return "is null, not a number"
    if isinstance(value, int):
        return None if abs(value) < 2**1023 else "is too large for a float"
    if isinstance(value, float):
        return None
    if isinstance(value, str):
        try:
            number_from_text(value)
        except ValueError:
            return f"is {value[:40]!r}, not a number (numbers are ASCII digits, e.g. 0.5 or 1e-7)"
        return None
    if isinstance(value, dict):
        return "is an object, not a number"
    return f"is a {type(value).__name__}, not a number"


def _find_bad(obj: object, path: tuple[int, ...]) -> tuple[tuple[int, ...], str] | None:
    """Depth-first: the first element that is not a number, or a list whose shape differs."""
    if not isinstance(obj, list | tuple):
        problem = _scalar_problem(obj)
        return (path, problem) if problem else None
    shape: tuple[int, ...] | None = None
    for i, item in enumerate(obj):
        found = _find_bad(item, (*path, i))
        if found:
            return found
        item_shape = np.shape(item) if isinstance(item, list | tuple) else ()
        if shape is None:
            shape = item_shape
        elif item_shape != shape:
            return (*path, i), _shape_message(item_shape, shape, path)
    return None


def _shape_message(got: tuple[int, ...], want: tuple[int, ...], path: tuple[int, ...]) -> str:
    if not got:
        return f"is a number where the earlier ones are lists of {plural(want[0], 'value')}"
    if not want:
        return "is a list where the earlier ones are numbers"
    return f"has {plural(got[0], 'value')} where the earlier ones have {want[0]}"


def plural(n: int, word: str) -> str:
    """``1 value``, ``2 values``."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


# --- .npy / .npz -------------------------------------------------------------------------------

def check_numeric(array: np.ndarray, where: str, what: str = "the array") -> np.ndarray:
    """Numbers only: text, structured, complex and date arrays are DataErrors; bool becomes float64."""
    kind = array.dtype.kind
    if kind == "b":
        return array.astype(np.float64)
    if kind not in _NUMERIC_KINDS:
        raise DataError(f"{what} holds {array.dtype} values, not real numbers", where=where,
                        hint="save it as a float or integer array")
    return array


def load_npy(data: bytes, where: str) -> np.ndarray:
    """An .npy file's array, refusing pickles, and checking the header against the data size."""
    stream = io.BytesIO(data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # e.g. numpy's note on Python 2 headers: not the user's concern
        return _load_npy(data, stream, where)


def _load_npy(data: bytes, stream: io.BytesIO, where: str) -> np.ndarray:
    try:
        version = np.lib.format.read_magic(stream)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(stream)
        else:
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(stream)
    except Exception as exc:  # noqa: BLE001 - numpy's header parser raises many kinds (tokenize, ast…)
        raise DataError(f"is not a valid .npy file ({_short(exc)})", where=where,
                        hint="write it with numpy.save") from None
    if dtype.hasobject:
        raise DataError("holds Python objects (pickled), which xent does not load", where=where,
                        hint="save a float or integer array (numpy.save(path, a.astype(float)))")
    from xentropy_cli.io.source import check_cells

    check_cells(math.prod(shape), where)  # before numpy allocates it (int8 cells become float64)
    expected = math.prod(shape) * dtype.itemsize
    remaining = len(data) - stream.tell()
    if remaining != expected:
        raise DataError(f"is truncated or corrupt: its header says {shape} {dtype} "
                        f"({expected} bytes) but {remaining} bytes follow", where=where,
                        hint="write it again with numpy.save")
    try:
        array = np.load(io.BytesIO(data), allow_pickle=False)
    except Exception as exc:  # noqa: BLE001 - any failure of an untrusted file is bad data
        raise DataError(f"is not a valid .npy file ({_short(exc)})", where=where,
                        hint="write it with numpy.save") from None
    return check_numeric(np.asarray(array), where)


def load_npz(data: bytes, where: str) -> dict[str, np.ndarray]:
    """Every array of an .npz file by name (each member checked as an .npy)."""
    import zipfile  # only .npz needs it: keep it off the start-up path
    import zlib

    _check_member_count(data, where)
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError) as exc:
        raise DataError(f"is not a valid .npz file ({_short(exc)})", where=where,
                        hint="write it with numpy.savez(path, y_true=…, y_pred=…)") from None
    _check_declared_sizes(infos, where)
    names = [info.filename for info in infos]
    arrays: dict[str, np.ndarray] = {}
    with archive:
        for name in names:
            key = name[:-4] if name.endswith(".npy") else name
            try:
                member = archive.read(name)
            except (zipfile.BadZipFile, zlib.error, ValueError, OSError, EOFError,
                    NotImplementedError, RuntimeError) as exc:
                raise DataError(f"array {key!r} cannot be read ({_short(exc)})", where=where,
                                hint="write the file again with numpy.savez") from None
            arrays[key] = load_npy(member, f"{where}: array {key!r}")
    return arrays


MAX_MEMBERS = 16  # y_true, y_pred, sample_weight and a few more: never thousands


def _check_member_count(data: bytes, where: str) -> None:
    """Refuse an archive whose directory lists more than MAX_MEMBERS entries, before zipfile
    builds an object per entry (the end-of-central-directory record gives the count)."""
    import struct

    end = data.rfind(b"PK\x05\x06", max(0, len(data) - 65557))
    if end < 0 or end + 22 > len(data):
        return  # zipfile says what is wrong
    (count,) = struct.unpack_from("<H", data, end + 10)
    if count > MAX_MEMBERS:  # 0xFFFF (ZIP64) included
        raise DataError(f"is an archive of {count} members, not an .npz of a few arrays",
                        where=where, hint="write it with numpy.savez(path, y_true=…, y_pred=…)")


def _check_declared_sizes(infos: list, where: str) -> None:
    """Zip bombs: the members' declared sizes (which zipfile enforces while inflating: it never
    inflates a member beyond its size) must fit in the memory budget, checked before inflating."""
    from xentropy_cli.io.source import max_bytes, too_large

    limit = max_bytes(binary=True)
    total = sum(info.file_size for info in infos)
    if total > limit:
        raise too_large(where, total, limit, binary=True)


def _short(exc: BaseException) -> str:
    text = str(exc).split("\n")[0]
    return text if len(text) <= 120 else text[:117] + "..."
