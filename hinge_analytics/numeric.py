"""Small numeric helpers shared by ingest, kinematics and metrics."""

from __future__ import annotations

import warnings

import numpy as np


def nanmean_stack(arrays: list[np.ndarray]) -> np.ndarray:
    """Element-wise mean ignoring NaN (NaN where every input is NaN), without warnings.

    Used wherever a left/right pair or a group of markers stands for one point or signal.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(np.stack(arrays), axis=0)
