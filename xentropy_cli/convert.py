"""Python values to the core's ``Inputs`` and ``Options``: the API's half of what the CLI's readers do.

Inputs: nested lists (read like JSON: float64), numpy arrays, anything with ``__array__`` or
``__dlpack__`` (torch CPU tensors, JAX arrays, TensorFlow eager tensors; no framework is
imported), their dtype kept; or a pandas DataFrame whose columns follow the CSV rules
(``true_*``/``pred_*``/``weight`` …; pandas is not imported either).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any, TypeAlias

import numpy as np

from xentropy_cli.core import profiles as _profiles
from xentropy_cli.core.choices import FloatType, Kernel, LossKind, Reduction
from xentropy_cli.core.profiles import Profile
from xentropy_cli.core.types import KINDS, Inputs, Options
from xentropy_cli.errors import DataError, UsageError

if TYPE_CHECKING:
    import numpy.typing as npt

    NDArray: TypeAlias = npt.NDArray[Any]

API_SOURCE = "input"  # how errors name arrays passed in Python ("input: y_pred row 2, column 1")
DATAFRAME_SOURCE = "DataFrame"

ProfileLike: TypeAlias = "str | Profile"


# --- turning Python values into arrays ------------------------------------------------------------

def as_array(value: object, name: str) -> NDArray:
    """``value`` as a numeric numpy array, its dtype kept (lists are read like JSON: float64).

    Booleans become float64; text, objects, complex numbers are a DataError naming ``name``.
    Never imports a framework: tensors convert through ``__array__`` or ``__dlpack__``.
    """
    from xentropy_cli.io import arrays

    if isinstance(value, np.ndarray):
        array = value
    elif isinstance(value, list | tuple | int | float | bool) and not isinstance(value, np.generic):
        try:
            array = arrays.to_float_array(value)
        except arrays.BadValue as bad:
            raise DataError(f"{arrays.path_text(name, bad.path)} {bad.message}", where=API_SOURCE,
                            hint=bad.hint) from None
    elif isinstance(value, np.generic):
        array = np.asarray(value)
    elif hasattr(value, "__array__"):
        array = _convert(np.asarray, value, name)
    elif hasattr(value, "__dlpack__"):
        array = _convert(np.from_dlpack, value, name)
    else:
        raise DataError(f"{name} is a {type(value).__name__}, not an array", where=API_SOURCE,
                        hint="pass a list, a numpy array, a tensor or a pandas DataFrame")
    return arrays.check_numeric(np.asarray(array), API_SOURCE, name)


def _convert(how: Any, value: object, name: str) -> NDArray:
    try:
        return np.asarray(how(value))
    except Exception as exc:  # noqa: BLE001 - every framework raises its own kinds
        text = " ".join(str(exc).split())[:160]
        raise DataError(f"{name} ({type(value).__name__}) cannot be read as a numpy array "
                        f"({type(exc).__name__}: {text})", where=API_SOURCE,
                        hint="detach it, move it to the CPU and give it a float dtype first, "
                             "e.g. t.detach().cpu().float()") from None


def _is_dataframe(value: object) -> bool:
    """A pandas-like DataFrame (``columns`` and ``iloc``), recognised without importing pandas."""
    return hasattr(value, "columns") and hasattr(value, "iloc") and not isinstance(value, np.ndarray)


def _column(frame: Any, index: int, header: list[str]) -> NDArray:
    try:
        array = np.asarray(frame.iloc[:, index].to_numpy())
    except Exception as exc:  # noqa: BLE001 - pandas extension arrays raise many kinds
        raise DataError(f"column {header[index]} cannot be read as numbers ({type(exc).__name__})",
                        where=DATAFRAME_SOURCE, hint="convert it with df[col].astype(float)") from None
    if array.dtype == object:
        try:
            array = array.astype(np.float64)
        except (TypeError, ValueError):
            bad = next((v for v in array if not _is_number(v)), array[0] if array.size else None)
            raise DataError(f"column {header[index]} holds {bad!r}, not a number", where=DATAFRAME_SOURCE,
                            hint="fix that value, or choose other columns with true_cols/pred_cols") from None
    from xentropy_cli.io import arrays

    return arrays.check_numeric(array, DATAFRAME_SOURCE, f"column {header[index]}")


def _is_number(value: object) -> bool:
    try:
        float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False
    return True


def _block(frame: Any, indices: Sequence[int], header: list[str]) -> NDArray:
    """Columns side by side in their common dtype (float32 columns stay float32)."""
    columns = [_column(frame, i, header) for i in indices]
    return np.ascontiguousarray(np.stack(columns, axis=1))


def _labels_1d(y_true: NDArray) -> NDArray:
    """The CSV reader's rule (io._labels_1d): one integer-valued y_true column is a label per sample."""
    if y_true.ndim == 2 and y_true.shape[1] == 1 and y_true.shape[0] > 0:
        column = y_true[:, 0]
        if np.issubdtype(column.dtype, np.integer) or bool(np.all(column == np.round(column))):
            return np.ascontiguousarray(column)
    return y_true


def _dataframe_inputs(frame: Any, true_cols: str | None, pred_cols: str | None,
                      weight_col: str | None) -> Inputs:
    """The CSV column rules on a DataFrame's header (see ``io.columns``)."""
    from xentropy_cli.io.columns import resolve_columns

    header = [str(name) for name in frame.columns]
    cols = resolve_columns(header, true_cols, pred_cols, weight_col, source=DATAFRAME_SOURCE)
    y_true = _labels_1d(_block(frame, cols.true_idx, header))
    y_pred = _block(frame, cols.pred_idx, header)
    weight = None if cols.weight_idx is None else _column(frame, cols.weight_idx, header)
    return Inputs(np.ascontiguousarray(y_true), y_pred, weight, source=DATAFRAME_SOURCE,
                  true_names=cols.true_names, pred_names=cols.pred_names)


def make_inputs(y_true: object, y_pred: object | None = None, *, sample_weight: object | None = None,
                loss: LossKind = "auto", from_logits: bool = False, labels: object | None = None,
                class_weight: object | None = None, true_cols: str | None = None,
                pred_cols: str | None = None, weight_col: str | None = None) -> Inputs:
    """``core.types.Inputs`` from Python values (see the module docstring)."""
    if loss not in KINDS:
        raise UsageError(f"unknown loss {loss!r}", hint=f"choose one of {', '.join(KINDS)}")
    if y_pred is None:
        if not _is_dataframe(y_true):
            raise UsageError("y_pred is missing",
                             hint="pass y_true and y_pred, or one DataFrame with true_*/pred_* columns")
        inputs = _dataframe_inputs(y_true, true_cols, pred_cols, weight_col)
        if sample_weight is not None:
            if inputs.sample_weight is not None:
                raise UsageError("sample weights are given twice: in the DataFrame and by sample_weight",
                                 where=DATAFRAME_SOURCE, hint="drop one of them")
            inputs = replace(inputs, sample_weight=as_array(sample_weight, "sample_weight"))
    else:
        if true_cols is not None or pred_cols is not None or weight_col is not None:
            raise UsageError("true_cols/pred_cols/weight_col select columns of one DataFrame",
                             hint="pass the DataFrame alone as the first argument")
        weight = None if sample_weight is None else as_array(sample_weight, "sample_weight")
        inputs = Inputs(np.atleast_1d(as_array(y_true, "y_true")),
                        np.atleast_1d(as_array(y_pred, "y_pred")), weight, source=API_SOURCE)
    for name, array in (("y_true", inputs.y_true), ("y_pred", inputs.y_pred)):
        if array.size == 0:
            raise DataError(f"{name} is empty: there are no samples", where=inputs.source,
                            hint="the input needs at least one row")
    return replace(inputs, kind=loss, from_logits=from_logits,
                   labels=None if labels is None else as_array(labels, "labels").reshape(-1),
                   class_weight=None if class_weight is None else
                   as_array(class_weight, "class_weight").reshape(-1))


def make_options(label_smoothing: float = 0.0, reduction: Reduction | None = None,
                 dtype: FloatType | None = None, normalise: bool | None = None,
                 clip: float | bool | None = None, base: float | str = "e",
                 kernel: Kernel | None = None) -> Options:
    """``core.types.Options`` from keyword arguments (Options itself refuses unknown values, for the
    CLI and the API alike). ``clip``: None (as the profile does), False (no clip stage), True (a
    clip at 1e-7, added if the profile has none) or ε. ``base``: e, 2, 10, "nats" or "bits"."""
    from xentropy_cli.core import choices

    if isinstance(base, int | float) and not isinstance(base, bool) and base in (math.e, 2, 10):
        base = {math.e: "e", 2: "2", 10: "10"}[base]
    base_value = choices.BASES[choices.choose(str(base), tuple(choices.BASES), "base")]
    if dtype is not None:
        try:
            dtype = np.dtype(dtype).name  # type: ignore[assignment]  # np.float32 and "float32" alike
        except TypeError:
            pass
    if not 0 <= float(label_smoothing) <= 1:
        raise UsageError(f"label_smoothing {label_smoothing} is outside [0, 1]", hint="e.g. 0.1")
    return Options(label_smoothing=float(label_smoothing), reduction=reduction, dtype=dtype,
                   normalise=normalise, clip=1e-7 if clip is True else clip, base=base_value, kernel=kernel)


def get_profile(profile: ProfileLike) -> Profile:
    return profile if isinstance(profile, Profile) else _profiles.get(profile)
