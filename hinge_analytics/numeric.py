"""Small numeric helpers shared by ingest, kinematics, metrics and the simulator."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl

STANDARD_GRAVITY = 9.80665  # m/s^2 per g (CGPM 1901; the value the device makers use)

# NaN-ignoring reductions that return NaN for an all-NaN slice without a RuntimeWarning. numpy's
# nanmax/nanmean/nanmedian warn there, and silencing them with warnings.catch_warnings is not
# thread-safe (it swaps the process-wide filters): with two chunks in flight on threads, one
# thread's exit restored the filters while the other was inside, and the warning reached the
# coach's terminal. np.fmax/np.fmin skip NaN by definition; the mean divides by the count.


def nanmax(values: np.ndarray, axis: int = 0) -> np.ndarray:
    """Maximum ignoring NaN (NaN where every value is NaN); ``values`` must not be empty."""
    return np.fmax.reduce(values, axis=axis)


def nanmin(values: np.ndarray, axis: int = 0) -> np.ndarray:
    """Minimum ignoring NaN (NaN where every value is NaN); ``values`` must not be empty."""
    return np.fmin.reduce(values, axis=axis)


def nanmean(values: np.ndarray, axis: int = 0) -> np.ndarray:
    """Mean ignoring NaN (NaN where every value is NaN), as np.nanmean computes it."""
    values = np.asarray(values, dtype=np.float64)
    finite = ~np.isnan(values)
    with np.errstate(invalid="ignore", divide="ignore"):  # errstate is thread-local
        return np.where(finite, values, 0.0).sum(axis=axis) / finite.sum(axis=axis)


def nanmedian(values: np.ndarray | Sequence[float], axis: int = 0) -> np.ndarray:
    """Median ignoring NaN (NaN where every value is NaN or there is none)."""
    return _nan_reduce(np.nanmedian, values, axis)


def nanpercentile(values: np.ndarray | Sequence[float], q: float, axis: int = 0) -> np.ndarray:
    """The ``q``-th percentile ignoring NaN (NaN where every value is NaN or there is none)."""
    return _nan_reduce(lambda v, axis: np.nanpercentile(v, q, axis=axis), values, axis)


def _nan_reduce(reduce, values: np.ndarray | Sequence[float], axis: int) -> np.ndarray:
    """``reduce(values, axis=axis)`` of a numpy nan-function, NaN for all-NaN slices without its
    warning (the slices are filled with zeros for the call)."""
    values = np.asarray(values, dtype=np.float64)
    if values.size == 0:
        return np.full(np.delete(values.shape, axis), np.nan) if values.ndim > 1 else np.float64(np.nan)
    empty = np.isnan(values).all(axis=axis)
    if not np.any(empty):
        return reduce(values, axis=axis)
    result = reduce(np.where(np.expand_dims(empty, axis), 0.0, values), axis=axis)
    return np.where(empty, np.nan, result)


def nanmean_stack(arrays: list[np.ndarray]) -> np.ndarray:
    """Element-wise mean ignoring NaN (NaN where every input is NaN), without warnings.

    Used wherever a left/right pair or a group of markers stands for one point or signal.
    """
    return nanmean(np.stack(arrays), axis=0)


def frame_with_nulls(
    columns: dict[str, np.ndarray | Sequence], schema: dict[str, pl.DataType] | None = None
) -> pl.DataFrame:
    """A polars frame of ``columns`` (arrays or lists, cast to ``schema`` when given) with every
    float NaN stored as null: converted while each Series is built, which is several times faster
    than a ``fill_nan`` expression per column on frames of many columns."""
    series = []
    for name, values in columns.items():
        dtype = schema[name] if schema is not None else None
        if dtype is None or dtype.is_float():
            array = np.asarray(values, dtype=np.float64) if dtype is not None else np.asarray(values)
            series.append(pl.Series(name, array, dtype, nan_to_null=array.dtype.kind == "f"))
        else:
            series.append(pl.Series(name, values, dtype))
    return pl.DataFrame(series)


def true_runs(mask: np.ndarray) -> list[slice]:
    """Maximal stretches where ``mask`` is true."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], np.asarray(mask).astype(np.int8), [0]])))
    return [slice(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def quat_matrix(q: np.ndarray) -> np.ndarray:
    """Rotation matrices (n, 3, 3) of unit w-first quaternions (n, 4)."""
    w, x, y, z = q.T
    return np.stack(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
            [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
            [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
        ]
    ).transpose(2, 0, 1)
