"""NaN-ignoring reductions: numpy's answers, and no warning for an all-NaN slice (they run on
threads, where silencing warnings with warnings.catch_warnings is not safe)."""

import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from hinge_analytics.numeric import nanmax, nanmean, nanmean_stack, nanmedian, nanmin

values = arrays(
    np.float64,
    st.tuples(st.integers(1, 6), st.integers(1, 4)),
    elements=st.one_of(st.just(np.nan), st.floats(-1e6, 1e6)),
)


@given(values, st.sampled_from([0, 1]))
def test_reductions_equal_numpy_and_stay_quiet(a, axis):
    with warnings.catch_warnings(record=True) as numpy_warned:
        warnings.simplefilter("always")
        expected = [f(a, axis=axis) for f in (np.nanmax, np.nanmin, np.nanmean, np.nanmedian)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = [f(a, axis=axis) for f in (nanmax, nanmin, nanmean, nanmedian)]
    for g, e in zip(got, expected, strict=True):
        np.testing.assert_allclose(g, e, rtol=1e-12, atol=1e-9, equal_nan=True)
    assert np.isnan(a).all(axis=axis).any() or not numpy_warned  # the case the helpers exist for


def test_all_nan_and_empty_inputs():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isnan(nanmedian([])) and np.isnan(nanmean(np.array([])))
        assert np.isnan(nanmean_stack([np.array([np.nan, 1.0]), np.array([np.nan, 3.0])])[0])
        assert nanmean_stack([np.array([np.nan, 1.0]), np.array([np.nan, 3.0])])[1] == pytest.approx(2.0)
        assert nanmedian(np.full((3, 2), np.nan)).shape == (2,)
