"""Angles, rep boundaries and per-rep metrics against the simulator's ground truth."""

import numpy as np
import polars as pl
import pytest

from hinge_analytics.features.metrics import rep_metrics, symmetry_index
from hinge_analytics.kinematics.filters import hampel, interpolate_gaps, lowpass
from hinge_analytics.reps.segmentation import segment_reps


def test_lowpass_is_zero_lag_and_removes_high_frequencies():
    fs = 100.0
    t = np.arange(0, 10, 1 / fs)
    slow = np.sin(2 * np.pi * 0.5 * t)
    fast = 0.5 * np.sin(2 * np.pi * 20 * t)
    out = lowpass(slow + fast, fs, cutoff_hz=6.0)
    inner = slice(100, -100)
    assert np.max(np.abs(out[inner] - slow[inner])) < 0.02
    # zero lag: the peak stays where it was
    assert abs(np.argmax(out[100:300]) - np.argmax(slow[100:300])) <= 1


def test_hampel_removes_a_spike_and_short_gaps_are_filled():
    x = np.sin(np.linspace(0, 6, 200))
    x[100] += 5
    cleaned = hampel(x)
    assert np.isnan(cleaned[100])
    filled = interpolate_gaps(cleaned, 30.0)
    assert filled[100] == pytest.approx(np.sin(6 * 100 / 199), abs=0.05)
    long_gap = x.copy()
    long_gap[50:90] = np.nan
    assert np.isnan(interpolate_gaps(long_gap, 30.0, max_gap_s=0.3)[70])


def test_symmetry_index_formula_and_sign():
    assert symmetry_index(110, 90) == pytest.approx(20.0)
    assert symmetry_index(90, 110) == pytest.approx(-20.0)
    assert np.isnan(symmetry_index(0, 0))


def test_segment_reps_on_a_synthetic_hinge_signal():
    t = np.arange(0, 20, 1 / 50)
    x = np.zeros_like(t)
    starts = [2.0, 7.0, 12.0]
    for s in starts:
        inside = (t >= s) & (t < s + 3)
        x[inside] = 80 * np.sin(np.pi * (t[inside] - s) / 3) ** 2
    reps = segment_reps(t, x)
    assert reps.height == 3
    assert np.allclose(reps["t_start_s"].to_numpy(), starts, atol=0.15)
    assert np.allclose(reps["t_end_s"].to_numpy(), np.array(starts) + 3, atol=0.15)


def test_lockout_lean_is_measured_from_quiet_standing_not_from_the_frame():
    """Every rep leans back 10 deg past standing at lockout but one, seen by a camera rolled 7 deg:
    the lockout against standing reads the lean; the absolute trunk angle reads it 7 deg off."""
    rate, roll, leans = 50.0, 7.0, [10.0, 0.0, 10.0, 10.0]
    t = np.arange(0.0, 2.0 + 4 * 4.0 + 2.0, 1 / rate)
    trunk = np.full(t.size, roll)
    bounds = []
    for k, lean in enumerate(leans):
        start = 2.0 + 4.0 * k
        u = (t - start) / 4.0
        inside = (u >= 0) & (u <= 1)
        rows, phase = np.flatnonzero(inside), u[inside]
        down_up, lockout = phase < 0.7, phase >= 0.7
        trunk[rows[down_up]] = roll + 60.0 * np.sin(np.pi * phase[down_up] / 0.7) ** 2
        trunk[rows[lockout]] = roll - lean * np.sin(np.pi * (phase[lockout] - 0.7) / 0.3)
        bounds.append({"rep": k + 1, "t_start_s": start, "t_bottom_s": start + 1.4, "t_end_s": start + 4.0})
    angles = pl.DataFrame({"t_s": t, "trunk_inclination_deg": trunk, "hinge_deg": trunk - roll})
    reps = rep_metrics(angles, pl.DataFrame(bounds))
    lockout = reps["min_trunk_inclination_from_standing_deg"].to_numpy()
    np.testing.assert_allclose(lockout, [-lean for lean in leans], atol=0.5)
    assert reps["min_trunk_inclination_deg"][1] == pytest.approx(roll, abs=0.5)
    assert np.isnan(reps["min_lumbar_flexion_from_standing_deg"].to_numpy()).all()  # pose has no lumbar
    # Bent over the bar before the set, standing after it: standing is read after the set.
    bent = angles.with_columns(
        pl.when(pl.col("t_s") < 2.0)
        .then(roll + 30.0)
        .otherwise(pl.col("trunk_inclination_deg"))
        .alias("trunk_inclination_deg")
    )
    after = rep_metrics(bent, pl.DataFrame(bounds))["min_trunk_inclination_from_standing_deg"]
    np.testing.assert_allclose(after.to_numpy(), [-lean for lean in leans], atol=0.5)


def test_a_lean_back_after_the_return_to_standing_is_that_reps_lockout():
    """A rep ends where it is back at standing; a lean-back past standing follows, at the top,
    before the next descent. Reps 2 and 4 (the last) lean back 12 deg for 1.2 s after their end:
    their lockouts read it, and reps 1 and 3, which start after a lean, do not. A stretch long
    after the set is no rep's lockout."""
    rate, lean = 50.0, 12.0
    t = np.arange(0.0, 30.0, 1 / rate)
    trunk = np.zeros_like(t)
    bounds = []
    for k in range(4):
        start = 2.0 + 5.0 * k
        inside = (t >= start) & (t <= start + 3.0)
        trunk[inside] = 60.0 * np.sin(np.pi * (t[inside] - start) / 3.0) ** 2
        if k in (1, 3):
            top = (t > start + 3.0) & (t < start + 4.2)
            trunk[top] = -lean * np.sin(np.pi * (t[top] - start - 3.0) / 1.2)
        bounds.append({"rep": k + 1, "t_start_s": start, "t_bottom_s": start + 1.5, "t_end_s": start + 3.0})
    stretch = (t > 26.0) & (t < 28.0)
    trunk[stretch] = -30.0 * np.sin(np.pi * (t[stretch] - 26.0) / 2.0)
    angles = pl.DataFrame({"t_s": t, "trunk_inclination_deg": trunk, "hinge_deg": trunk})
    lockout = rep_metrics(angles, pl.DataFrame(bounds))["min_trunk_inclination_from_standing_deg"]
    np.testing.assert_allclose(lockout.to_numpy(), [0.0, -lean, 0.0, -lean], atol=1.0)


def test_a_short_lean_back_reads_the_same_in_slow_and_fast_reps():
    """Reps of 2 s and of 8 s, each ending in the same half-second 10-deg lean-back and going
    straight into the next descent: the lockout reads the lean in both, where a share of the
    lockout's span (its 5th percentile) read 9.0 deg of it in the fast reps and 5.9 in the slow."""
    rate, lean = 50.0, 10.0
    for rep_s in (2.0, 8.0):
        t = np.arange(0.0, 4.0 + 4 * (rep_s + 0.5), 1 / rate)
        trunk = np.zeros_like(t)
        bounds = []
        for k in range(4):
            start = 2.0 + (rep_s + 0.5) * k
            inside = (t >= start) & (t <= start + rep_s)
            trunk[inside] = 60.0 * np.sin(np.pi * (t[inside] - start) / rep_s) ** 2
            top = (t > start + rep_s) & (t < start + rep_s + 0.5)
            trunk[top] = -lean * np.sin(np.pi * (t[top] - start - rep_s) / 0.5)
            bounds.append(
                {"rep": k + 1, "t_start_s": start, "t_bottom_s": start + rep_s / 2, "t_end_s": start + rep_s}
            )
        angles = pl.DataFrame({"t_s": t, "trunk_inclination_deg": trunk, "hinge_deg": trunk})
        lockout = rep_metrics(angles, pl.DataFrame(bounds))["min_trunk_inclination_from_standing_deg"]
        np.testing.assert_allclose(lockout.to_numpy(), -lean, atol=0.5, err_msg=f"{rep_s} s reps")


def _leaning_set(lean: float, before: float, after: float) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Four hinges to 60 deg trunk inclination that end leaning back ``lean`` deg and hold it into
    the next rep's start; ``before`` and ``after`` are the trunk angles held around the set."""
    t = np.arange(0.0, 2.0 + 4 * 4.0 + 2.0, 1 / 50.0)
    trunk = np.where(t < 2.0, before, after)
    bounds = []
    for k in range(4):
        start = 2.0 + 4.0 * k
        u = (t - start) / 4.0
        down, up, held = (u >= 0) & (u < 0.4), (u >= 0.4) & (u < 0.8), (u >= 0.8) & (u <= 1.0)
        from_lean = -lean if k else 0.0
        trunk[down] = from_lean + (60.0 - from_lean) * np.sin(np.pi / 2 * u[down] / 0.4) ** 2
        trunk[up] = -lean + (60.0 + lean) * np.cos(np.pi / 2 * (u[up] - 0.4) / 0.4) ** 2
        trunk[held] = -lean
        bounds.append({"rep": k + 1, "t_start_s": start, "t_bottom_s": start + 1.6, "t_end_s": start + 4.0})
    angles = pl.DataFrame({"t_s": t, "trunk_inclination_deg": trunk, "hinge_deg": trunk})
    return angles, pl.DataFrame(bounds)


def test_a_set_leaning_back_at_every_lockout_keeps_its_standing_reference():
    """Each rep starts from the previous lockout's lean: the starts lie 15 deg behind standing, which
    is the lean, not a window that held something else."""
    angles, bounds = _leaning_set(15.0, before=0.0, after=0.0)
    lockout = rep_metrics(angles, bounds)["min_trunk_inclination_from_standing_deg"].to_numpy()
    np.testing.assert_allclose(lockout, -15.0, atol=0.5)


def test_no_standing_reference_when_the_reps_start_more_flexed_than_any_window():
    """Reps starting 30 deg more flexed than anything held around the set did not start from
    standing: no reference rather than a 30 deg offset. Bent over the bar before the set and
    standing after it, standing is read after."""
    angles, bounds = _leaning_set(0.0, before=-30.0, after=-30.0)
    unreferenced = rep_metrics(angles, bounds)["min_trunk_inclination_from_standing_deg"]
    assert unreferenced.is_nan().all()
    angles, bounds = _leaning_set(0.0, before=40.0, after=0.0)
    lockout = rep_metrics(angles, bounds)["min_trunk_inclination_from_standing_deg"].to_numpy()
    np.testing.assert_allclose(lockout, 0.0, atol=0.5)


def test_peak_hip_flexion_of_a_held_bottom_is_the_hold_not_its_noisiest_frame():
    """A 10 s hold at 80 deg with estimator noise (low-passed at 6 Hz, as the angles are): the bottom
    phase has no single peak (the fitted parabola opens upwards about as often as not), and its
    maximum is the noisiest frame."""
    rate = 30.0
    t = np.arange(0.0, 16.0, 1 / rate)
    clean = np.interp(t, [0.0, 1.0, 3.0, 13.0, 15.0, 16.0], [0.0, 0.0, 80.0, 80.0, 0.0, 0.0])
    rng = np.random.default_rng(3)
    peaks = []
    for _ in range(20):
        hip = clean + lowpass(rng.normal(0.0, 5.0, t.size), rate)
        angles = pl.DataFrame(
            {"t_s": t, "hip_flexion_left_deg": hip, "hip_flexion_right_deg": hip, "hinge_deg": hip}
        )
        bounds = pl.DataFrame({"rep": [1], "t_start_s": [1.0], "t_bottom_s": [8.0], "t_end_s": [15.0]})
        peaks.append(rep_metrics(angles, bounds)["peak_hip_flexion_deg"][0])
    assert abs(np.mean(peaks) - 80.0) < 2.0  # the maximum of the hold reads ~ +6 deg


def test_peak_spine_flexion_is_read_at_the_bottom_not_at_a_fast_turns_spike():
    """An accelerometer-only back sensor in a fast rep: its tilt from gravity jumps by tens of
    degrees where the trunk accelerates (on the way down and up), while the spine holds 12 deg of
    lumbar and 20 deg of thoracic flexion through the bottom (and a pose 15 deg of rounding)."""
    rate = 50.0
    t = np.arange(0.0, 4.0, 1 / rate)
    hinge = np.interp(t, [0.0, 1.0, 1.6, 2.4, 3.0, 4.0], [0.0, 0.0, 80.0, 80.0, 0.0, 0.0])
    depth = hinge / 80.0
    spikes = 40.0 * np.exp(-(((t - 1.3) / 0.05) ** 2)) - 35.0 * np.exp(-(((t - 2.7) / 0.05) ** 2))
    angles = pl.DataFrame(
        {
            "t_s": t,
            "hinge_deg": hinge,
            "lumbar_flexion_deg": 12.0 * depth + spikes,
            "thoracic_flexion_deg": 20.0 * depth + spikes,
            "upper_back_rounding_deg": 15.0 * depth + spikes,
        }
    )
    bounds = pl.DataFrame({"rep": [1], "t_start_s": [1.0], "t_bottom_s": [2.0], "t_end_s": [3.0]})
    rep = rep_metrics(angles, bounds).row(0, named=True)
    assert rep["peak_lumbar_flexion_deg"] == pytest.approx(12.0, abs=0.5)
    assert rep["peak_thoracic_flexion_deg"] == pytest.approx(20.0, abs=0.5)
    assert rep["peak_upper_back_rounding_deg"] == pytest.approx(15.0, abs=0.5)  # pose's noisy proxy
    assert rep["range_thoracic_flexion_deg"] > 60.0  # range and the other statistics are unchanged


def test_reps_and_angles_match_simulator_truth(lake, batch):
    reps = lake.read("reps")
    truth = pl.read_csv(batch.parent / "truth_reps.csv")
    counts = (
        reps.group_by("recording_id")
        .len()
        .join(
            truth.group_by("recording_id").len(),
            on="recording_id",
            suffix="_truth",
            how="full",
            coalesce=True,
        )
    )
    exact = (counts["len"] == counts["len_truth"]).mean()
    assert exact >= 0.95
    joined = reps.join(truth, on=["recording_id", "rep"], suffix="_true")
    for column, limit in (
        ("peak_hip_flexion_deg", 5.0),
        ("peak_knee_flexion_left_deg", 5.0),
        ("peak_knee_flexion_right_deg", 5.0),
        ("peak_trunk_inclination_deg", 5.0),
    ):
        mae = (joined[column] - joined[f"{column}_true"]).abs().mean()
        assert mae < limit, f"{column} MAE {mae:.2f} deg"
    for column in ("t_start_s", "t_end_s"):
        assert (joined[column] - joined[f"{column}_true"]).abs().median() < 0.3


def test_running_median_equals_the_rank_filter():
    from itertools import product

    from scipy.ndimage import median_filter

    from hinge_analytics.kinematics.filters import running_median

    bits = np.array(list(product([0.0, 1.0], repeat=7)))  # 0-1 principle: every binary input sorts
    centre = running_median(bits.T.copy(), 7)[3]
    np.testing.assert_array_equal(centre, (bits.sum(axis=1) >= 4).astype(float))
    x = np.random.default_rng(0).normal(size=(500, 9))
    x[::17] = 3.0  # ties
    for window in (3, 7, 9):
        np.testing.assert_array_equal(
            running_median(x, window), median_filter(x, size=(window, 1), mode="nearest")
        )


def _periodic_hinge(t: np.ndarray, phase_s: float, period_s: float = 3.0) -> pl.DataFrame:
    """Hip flexion 0 (standing) to 100 deg and back every ``period_s``, with the trunk at 0.6 of it
    and the knees at 0.3, held still for 1 s before and after; ``phase_s`` is where it starts."""
    moving = np.clip(t - 1.0, 0.0, t[-1] - 2.0) + phase_s
    hinge = 50.0 * (1 - np.cos(2 * np.pi * moving / period_s))
    return pl.DataFrame(
        {
            "t_s": t,
            "hinge_deg": hinge,
            "hip_flexion_left_deg": hinge,
            "hip_flexion_right_deg": hinge,
            "trunk_inclination_deg": 0.6 * hinge,
            "knee_flexion_left_deg": 0.3 * hinge,
            "knee_flexion_right_deg": 0.3 * hinge,
        }
    )


def test_reps_cut_from_the_floor_read_their_curves_and_lockout_from_standing():
    """A deadlift set filmed from the set-up to the bar back on the floor is cut floor to floor; read
    in time, its curves began and ended at the bottom and its lockout was the set-up's trunk. Read
    in cycle order they match the same movement cut from standing."""
    from hinge_analytics.features.curves import rep_curves
    from hinge_analytics.schema import CURVE_COLUMNS

    t = np.arange(0.0, 2.0 + 15.0, 1 / 50)
    features = {}
    for name, phase in (("standing", 0.0), ("floor", 1.5)):
        angles = _periodic_hinge(t, phase)
        boundaries = segment_reps(t, angles["hinge_deg"].to_numpy())
        reps = rep_metrics(angles, boundaries)
        curves = rep_curves(angles, reps)
        assert reps.height == 5, name
        features[name] = (reps[1:4], curves[1:4].select(CURVE_COLUMNS))  # reps away from the holds
    (standing, standing_curves), (floor, floor_curves) = features["standing"], features["floor"]
    assert (floor["t_bottom_s"] == floor["t_start_s"]).all()  # cut from the floor
    assert np.abs(floor["top_trunk_inclination_deg"].to_numpy()).max() < 5.0
    np.testing.assert_allclose(
        floor["top_trunk_inclination_deg"], standing["top_trunk_inclination_deg"], atol=3.0
    )
    np.testing.assert_allclose(floor_curves.to_numpy(), standing_curves.to_numpy(), atol=6.0, equal_nan=True)
    # The hold before the first pull is the set-up, no standing to measure a lean-back from
    # (it read -60 deg at every lockout).
    assert floor["min_trunk_inclination_from_standing_deg"].is_null().all()


def test_a_first_pull_fills_the_second_half_of_its_cycle():
    """A deadlift filmed from the set-up holds the first rep's rise, not the lowering before it:
    its curves start at the bottom in the cycle's middle and end standing, and its lockout is the
    standing trunk."""
    from hinge_analytics.features.curves import rep_curves

    t = np.arange(0.0, 2.0 + 15.0, 1 / 50)
    # opens in the 1-s hold at the bottom, ends just past a lockout
    angles = _periodic_hinge(t, 1.5).filter(pl.col("t_s") <= 14.7)
    boundaries = segment_reps(
        angles["t_s"].to_numpy(), angles["hinge_deg"].to_numpy(), first_rep_from_bottom=True
    )
    reps = rep_metrics(angles, boundaries)
    curves = rep_curves(angles, reps)
    assert reps["eccentric_s"][0] is None
    hip = [curves[f"curve_hip_{i:02d}"][0] for i in range(20)]
    assert all(v is None for v in hip[:10])
    assert hip[10] > 80.0 and abs(hip[19]) < 10.0
    assert abs(reps["top_trunk_inclination_deg"][0]) < 5.0
