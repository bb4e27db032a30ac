"""The same angles computed the way a kineticstoolkit user would, for bench/pipeline.py.

Kinetics Toolkit (https://kineticstoolkit.uqam.ca, ``pip install kineticstoolkit``) is the PyPI
biomechanics toolkit closest to what hinge_analytics does for one recording: a TimeSeries of
markers, ``ktk.filters.butter`` (zero-lag Butterworth) and segment frames from which joint angles
are read as Euler angles (``ktk.geometry.create_transform_series`` ->
``get_local_coordinates`` -> ``get_angles``, its "joint angles" tutorial). For a MediaPipe *world*
landmark CSV a user would:

1. read it with pandas, put each landmark in a TimeSeries as a point series, low-visibility
   samples (< 0.3, as hinge_analytics) set missing, y-down turned to y-up by a 180 deg rotation
   about x (a rotation, so the data stay right-handed);
2. fill short gaps (``fill_missing_samples``) and filter at 6 Hz, order 2, forward-backward;
3. build ISB-style frames (x forward, y up along the segment, z to the right): trunk (hip centre ->
   shoulder centre), thighs (knee -> hip), shanks (ankle -> knee), each with the hip line
   (right hip - left hip) as the lateral axis (MediaPipe has no knee or ankle epicondyles), and a
   heading frame (vertical y, same lateral axis) for the trunk's inclination;
4. read hip flexion = thigh in trunk, knee flexion = shank in thigh (sign flipped: flexion is a
   negative rotation about a right-pointing z), trunk inclination = trunk in heading frame, as the
   first angle of the ZXY sequence.

Differences from hinge_analytics that remain on purpose (a user would not write them): no left/right
swap correction, no Hampel spike rejection, no Winter cut-off correction for the double pass; the
flexion angle is taken in the plane normal to the hip line (the trunk frame's own sagittal plane),
whereas hinge_analytics projects on the sagittal plane found from the feet (heel -> toe), so any
pelvis rotation or hip abduction shows up as a small offset between the two.
"""

from __future__ import annotations

import time
import warnings

import numpy as np

from hinge_analytics.features.metrics import rep_metrics
from hinge_analytics.ingest import read_recording
from hinge_analytics.ingest.mediapipe import load_mediapipe_csv
from hinge_analytics.kinematics import angles_for
from hinge_analytics.reps.segmentation import segment_reps

QUANTITIES = (
    "hip_flexion_left_deg",
    "hip_flexion_right_deg",
    "knee_flexion_left_deg",
    "knee_flexion_right_deg",
    "trunk_inclination_deg",
)
# canonical name -> MediaPipe column stem
_LANDMARKS = {
    f"{joint}_{side}": f"{side}_{joint}"
    for joint in ("shoulder", "hip", "knee", "ankle")
    for side in ("left", "right")
}
MIN_VISIBILITY = 0.3
MAX_GAP_S = 0.25
# MediaPipe's world landmarks are right-handed (x image-right, y down, z away from the camera), so
# y-down -> y-up is a 180 deg rotation about x. The simulator's world CSVs are their mirror image
# (an athlete facing +x has the right hip at +z, i.e. away from the camera), which hinge_analytics
# does not notice (it measures tilts in the sagittal plane found from the feet) but which flips the
# sign of every Euler angle read from cross-product frames; for them y-up is a mirror of y.
SIMULATOR_MIRRORED = True


def available() -> str | None:
    """None when kineticstoolkit and pandas import; else why not (printed by the bench)."""
    try:
        import kineticstoolkit.lab  # noqa: F401
        import pandas  # noqa: F401
    except ImportError as exc:
        return f"{exc.name} is not installed (pip install -e '.[bench]')"
    return None


def ktk_angles(path) -> dict[str, np.ndarray]:
    """Filtered angles (deg) per frame of one MediaPipe world-landmark CSV, with kineticstoolkit."""
    import kineticstoolkit.lab as ktk
    import pandas as pd

    df = pd.read_csv(path)
    n = len(df)
    t = df["timestamp_ms"].to_numpy() / 1000.0
    # Timestamps are written rounded to the microsecond; TimeSeries filters need a constant rate.
    rate = round(1.0 / np.median(np.diff(t)))
    ts = ktk.TimeSeries(time=t[0] + np.arange(n) / rate)
    for name, stem in _LANDMARKS.items():
        xyz = df[[f"{stem}_x", f"{stem}_y", f"{stem}_z"]].to_numpy(dtype=float)
        xyz[df[f"{stem}_visibility"].to_numpy() < MIN_VISIBILITY] = np.nan
        points = ktk.geometry.create_point_series(xyz)
        if SIMULATOR_MIRRORED:
            ts.data[name] = ktk.geometry.mirror(points, "y")
        else:
            ts.data[name] = ktk.geometry.rotate(points, "x", np.full((n, 1), 180.0), degrees=True)
    ts = ts.fill_missing_samples(max(1, int(MAX_GAP_S * rate)))
    with warnings.catch_warnings():  # gaps longer than MAX_GAP_S: ktk warns, interpolates, re-NaNs
        warnings.simplefilter("ignore")
        ts = ktk.filters.butter(ts, 6.0, order=2, filtfilt=True)
    d = ts.data
    g = ktk.geometry
    hip_c = (d["hip_left"] + d["hip_right"]) / 2
    sho_c = (d["shoulder_left"] + d["shoulder_right"]) / 2
    lateral = d["hip_right"] - d["hip_left"]
    up = np.tile([0.0, 1.0, 0.0, 0.0], (n, 1))
    trunk = g.create_transform_series(positions=hip_c, y=sho_c - hip_c, yz=lateral)
    heading = g.create_transform_series(positions=hip_c, y=up, yz=lateral)
    out = {"trunk_inclination_deg": -_flexion(g, g.get_local_coordinates(trunk, heading))}
    for side in ("left", "right"):
        hip, knee, ankle = (d[f"{j}_{side}"] for j in ("hip", "knee", "ankle"))
        thigh = g.create_transform_series(positions=knee, y=hip - knee, yz=lateral)
        shank = g.create_transform_series(positions=ankle, y=knee - ankle, yz=lateral)
        out[f"hip_flexion_{side}_deg"] = _flexion(g, g.get_local_coordinates(thigh, trunk))
        out[f"knee_flexion_{side}_deg"] = -_flexion(g, g.get_local_coordinates(shank, thigh))
    return out


def _flexion(g, joint: np.ndarray) -> np.ndarray:
    """First ZXY angle (deg) of a joint transform series; NaN where a landmark was missing (scipy's
    ``Rotation.from_matrix``, under ``get_angles``, refuses NaN matrices, so only finite ones go in)."""
    out = np.full(len(joint), np.nan)
    ok = np.isfinite(joint).all(axis=(1, 2))
    if ok.any():
        out[ok] = g.get_angles(joint[ok], "ZXY", degrees=True)[:, 0]
    return out


def _rep_peaks(values: np.ndarray, t_s: np.ndarray, reps) -> list[float]:
    peaks = []
    for start, end in zip(reps["t_start_s"].to_list(), reps["t_end_s"].to_list(), strict=True):
        window = values[(t_s >= start) & (t_s <= end)]
        peaks.append(float(np.nanmax(window)) if np.isfinite(window).any() else np.nan)
    return peaks


def _ours(row) -> tuple[object, object]:
    """hinge_analytics on one recording, as the pipeline runs it (read, angles, reps, metrics)."""
    _, read = read_recording(row.file, row.format, row.sample_rate_hz)
    angles, _ = angles_for(read, row.exercise, row.side)
    reps = segment_reps(angles["t_s"].to_numpy(), angles["hinge_deg"].to_numpy())
    rep_metrics(angles, reps)
    return angles, reps


def compare(rows, sample: int = 20) -> dict:
    """Time kineticstoolkit and hinge_analytics per recording on the first ``sample`` world-landmark
    recordings, and compare rep peaks (same rep windows, found by hinge_analytics)."""
    chosen = []
    for row in rows:
        if row.format == "mediapipe_csv" and load_mediapipe_csv(row.file).coordinates == "world_m":
            chosen.append(row)
        if len(chosen) >= sample:
            break
    if not chosen:
        return {"recordings": 0}
    ktk_angles(chosen[0].file)  # imports and first-call costs out of both timings
    _ours(chosen[0])
    start = time.perf_counter()
    theirs_all = [ktk_angles(row.file) for row in chosen]
    seconds = (time.perf_counter() - start) / len(chosen)
    start = time.perf_counter()
    ours_all = [_ours(row) for row in chosen]
    ours_seconds = (time.perf_counter() - start) / len(chosen)
    diffs: dict[str, list[float]] = {q: [] for q in QUANTITIES}
    for theirs, (ours, reps) in zip(theirs_all, ours_all, strict=True):
        t_s = ours["t_s"].to_numpy()
        for q in QUANTITIES:
            a = np.asarray(_rep_peaks(theirs[q], t_s, reps))
            b = np.asarray(_rep_peaks(ours[q].to_numpy(), t_s, reps))
            ok = np.isfinite(a) & np.isfinite(b)
            diffs[q] += (a[ok] - b[ok]).tolist()
    agreement = {
        q: {
            "mean_abs_diff_deg": float(np.mean(np.abs(v))),
            "mean_diff_deg": float(np.mean(v)),
            "reps": len(v),
        }
        for q, v in diffs.items()
        if v
    }
    return {
        "recordings": len(chosen),
        "s_per_recording": seconds,
        "library_s_per_recording": ours_seconds,
        "agreement": agreement,
    }
