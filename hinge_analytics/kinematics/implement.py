"""Rep signal from an IMU's vertical travel: a sensor that moves with the load instead of the body
(bar, implement, wrist), or the trunk of a squat or lunge that no thigh sensor reads.

A sensor on the bar, a kettlebell or a wrist rides with the load: it tells when the load goes up
and comes back (reps, their timing and speed), not how the body is bent (SPEC.md, "IMU
placements"). ``implement_rep_signal`` turns such a sensor into one signal, the load's height
above its rest position in metres, on which ``reps.segmentation.segment_reps`` finds one peak per
lift or swing.

1. **Vertical specific force f_v.** With a gyroscope, the up direction in the sensor frame comes
   from the sensor's own quaternion when it has one, else from the complementary filter
   ``kinematics.imu.up_from_fusion`` (Mahony et al., IEEE TAC 2008, reduced to tilt; run forwards
   and backwards and averaged, as for body sensors), and f_v = f . up. The gyro bias is the median
   rate over the sensor's rests (step 2), none without rests: a wrist is rarely still in its
   first seconds, and the ~1 deg/s bias of a consumer gyro barely moves a filter that gravity
   pulls back within ``imu.TAU_S``.
   Without a gyroscope, gravity cannot be told from the load's own acceleration, and the
   magnitude |f| stands in for f_v. For a load moving mostly up and down it is exact to second
   order: |g + a| = g + a_v + a_h^2 / 2g. For a load hanging from the hand and swinging (a
   kettlebell swing: the hand can only pull along the handle, like a pendulum's rod, which is why
   the specific force barely turns in the bell's frame) |f| is the handle tension per unit mass,
   T = v^2/L + g cos(theta), while the bell's height L(1 - cos(theta)) has the acceleration
   h'' = v^2 cos(theta)/L - g sin^2(theta). Both equal v^2/L at the bottom passages; at an apex
   T - g = -g(1 - cos(theta0)) and h'' = -g sin^2(theta0): both -g in the float of a swing to the
   horizontal, 0.5 g against 0.75 g at a 60 deg back-swing. So |f| - g is a fair stand-in for h''
   (near 0 g in the float, far above g at the bottom passages), its double integral is a
   height-like signal with the right phase (a pseudo-height), and it peaks once per swing, at
   the float, because integrating twice weights the swing cycle (float high, back-swing low) four
   times more than its second harmonic (the two bottom passages). The centripetal part of T
   averages above g over a cycle and grows and shrinks with the swings; it is no lift, so |f| - g
   is high-passed (``HIGHPASS_HZ``) before integrating.
2. **Rests and gravity.** The sensor rests where, for ``REST_S`` or longer, the magnitude of the
   specific force varies by less than ``STILL_ACC_G`` and the gyro turns slower than
   ``STILL_GYR_RAD_S`` (a moving-variance detector of the kind compared by Skog et al., IEEE TBME
   2010; a lift never moves that long without a change of speed). Between two rests the load
   starts and ends still, so its mean vertical acceleration is zero: gravity as this sensor
   measures it is the mean of f_v over each stretch between rests (and over each rest). That
   also absorbs the accelerometer's scale error (1-2 % on consumer sensors, metres of drift).
3. **Velocity** = integral of f_v - g, zero during rests (zero-velocity update, Foxlin, IEEE CG&A
   2005). When the stretch of data begins and ends at rest, every movement lies between two
   rests and the drift left in it is removed as a line (velocity zero at both of its rests), and
   the height is the plain integral of velocity. Otherwise (a wrist that never keeps still) the
   velocity is high-passed (``HIGHPASS_HZ``, zero-lag Butterworth) before the zero-velocity
   update, and the height after integration: double integration with drift removal after each
   step, as for the vertical displacement of the trunk in walking (Zijlstra & Hof, Gait Posture
   2003). The rep cycle of a lift (0.17-1 Hz) passes; drift does not.
4. **Height** is therefore the load's vertical displacement in metres (a pseudo-height for an
   accelerometer alone on a swinging load).
5. **Repetition.** A single movement of the hand (to the face, to a phone) moves a wrist as far as
   a rep does; reps are what repeats. Windows of ``PERIODIC_WINDOWS_S`` are kept when the
   autocorrelation (biased, normalised) of the height, high-passed at 1 / ``MAX_PERIOD_S``, has a
   peak at a lag tau between ``MIN_PERIOD_S`` and ``MAX_PERIOD_S`` (and within a third of the
   window) of at least ``MIN_AUTOCORRELATION`` and a peak near 2 tau of at least
   ``MIN_AUTOCORRELATION_2``: N equal cycles in a window give (N - 1)/N and (N - 2)/N, so this
   asks for three cycles or more (exercise found by its periodicity: Morris et al., "RecoFit",
   CHI 2014; regularity from the autocorrelation at one and two cycles: Moe-Nilssen & Helbostad,
   J Biomech 2004). Outside kept windows the signal fades to its rest level over ``GATE_RAMP_S``:
   sitting, standing, fidgeting or a lone movement has no reps.
6. **Rest position and direction.** A rep leaves the rest position and returns (SPEC.md): a
   deadlift's bar rests on the floor and goes up, a squat's rests at the top and goes down. The
   manifest's exercise says where the load rests when it can (``LOAD_REST``). Otherwise, as in
   ``segment_reps``, the rest is where the recording (here: each repeating stretch) begins: the
   first departure of more than ``REST_DEPARTURE_M`` from the height held before the first
   movement gives the reps' direction (the last departure, read backwards from the end, when
   there is none). The signal is turned so reps rise, and its rest level, the lower envelope (a
   grey-scale opening over ``MAX_PERIOD_S``, Serra 1982), is subtracted.

Thresholds are physical: a lift moves the load at least ``MIN_PROMINENCE_M`` (a hip thrust's bar
rises ~0.15-0.25 m, a deadlift's 0.4-0.6 m, a kettlebell ~0.8 m), a rep cycle lasts
``MIN_PERIOD_S`` to ``MAX_PERIOD_S``.

**The trunk's height** (`trunk_rep_signal`). A squat or lunge lowers the hips by bending the
legs, and a sensor on the trunk cannot see the legs bend; its tilt does not follow depth either: a
squat's pelvis tucks under at the bottom, so a lower-back sensor leans forward, back towards
upright, and forward again in one rep (two humps: 39, 20, 39 deg in a real set). The hips'
height falls once per rep whatever the trunk does. The same height (steps 1-4) is referenced
to standing (step 6, the rest at the top unless the recording departs upwards first); the
periodicity gate (step 5) is left out, because a trunk does not travel ``MIN_RANGE_M`` up and
down and back except by a movement of the legs, and a heavy single or double is a set.

What it cannot do: tell a deadlift from a squat: each is a repeated excursion of the load, and
which lift it was comes from the manifest (or a classifier). A swing is told from the cleans,
jerks and snatches around it by how the bell hangs (``reps.swing``), not by its height.
A set of one or two reps does not repeat, so it is not counted; nor is the first or last rep next
to a logging gap when the stretch beside it holds fewer than three.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
from scipy.integrate import cumulative_trapezoid
from scipy.ndimage import maximum_filter1d, minimum_filter1d
from scipy.signal import butter, sosfiltfilt

from hinge_analytics.ingest.checks import MAX_GAP_S
from hinge_analytics.kinematics.filters import interpolate_gaps, lowpass
from hinge_analytics.kinematics.imu import up_from_fusion, up_from_quaternion
from hinge_analytics.numeric import true_runs
from hinge_analytics.schema import (
    ACCELEROMETER_CHANNELS,
    GYROSCOPE_CHANNELS,
    QUATERNION_CHANNELS,
    TRUNK_HEIGHT,
)

GRAVITY = 9.80665  # m/s^2, the unit "g" of the thresholds (the sensor's own g is measured, step 2)
MIN_RUN_S = 2.0  # a stretch of data shorter than this cannot hold a rep
STILL_WINDOW_S = 0.5
STILL_ACC_G = 0.03  # sd of |f|: sensor noise is ~0.01 g, a lift's accelerations exceed 0.1 g
STILL_GYR_RAD_S = 0.25  # ~15 deg/s: a hand at rest turns slower, a lifted load faster
REST_S = 1.0
ACC_LOWPASS_HZ = 10.0  # vibration and impacts above this move the load by under a millimetre
HIGHPASS_HZ = 0.1  # drift removal, below the slowest rep cycle (1 / MAX_PERIOD_S)
MIN_PERIOD_S = 0.8  # shortest rep cycle (a fast kettlebell swing lasts ~1.5 s)
MAX_PERIOD_S = 6.0  # longest rep cycle (a slow tempo rep with pauses lasts ~5-6 s)
PERIODIC_WINDOWS_S = (10.0, 20.0)  # three cycles of fast reps (swings), of the slowest reps
PERIODIC_HOP_S = 1.0
PERIODIC_RATE_HZ = 10.0  # the height has no content above ~2 Hz
MIN_AUTOCORRELATION = 0.5  # above two equal cycles' (N - 1)/N
MIN_AUTOCORRELATION_2 = 0.25  # three equal cycles give 1/3 at two cycles' lag, two give 0
GATE_RAMP_S = 1.0
REST_DEPARTURE_M = 0.25  # about half a rep: more than unracking a bar or shifting a grip
# Where the load rests between reps: a kettlebell hangs at the lowest point of its swing, a hip
# thrust's bar lies on the lowered hips; the bar or bell of an RDL, good morning or squat is held
# at the top. A deadlift may start from the floor or from lockout: read from the recording.
LOAD_REST: dict[str, str] = {
    "kettlebell_swing": "bottom",
    "hip_thrust": "bottom",
    "romanian_deadlift": "top",
    "single_leg_rdl": "top",
    "good_morning": "top",
    "squat": "top",
}
MIN_RANGE_M = 0.15
MIN_PROMINENCE_M = 0.1


@dataclass(frozen=True)
class RepSignal:
    """A signal that rises away from the rest position once per rep, for ``segment_reps``."""

    values: np.ndarray  # one value per frame, NaN where there is no data
    name: str  # e.g. "implement_height_m"
    unit: str  # e.g. "m"
    min_range: float  # a recording whose signal moves less than this has no reps (rest)
    min_prominence: float  # smallest rep excursion, in the signal's unit

    def moved(self) -> float:
        """How far the signal travels over the recording (its 2nd to 99th percentile; 0 without
        data): below ``min_range`` the recording holds no reps."""
        finite = self.values[np.isfinite(self.values)]
        return float(np.percentile(finite, 99) - np.percentile(finite, 2)) if len(finite) else 0.0


# --------------------------------------------------------------------------- helpers
def placement_channels(frames: pl.DataFrame, placement: str, names: tuple[str, ...]) -> np.ndarray | None:
    """Columns ``<placement>_<name>`` as an (n, k) float array with NaN for nulls, or None."""
    cols = [f"{placement}_{c}" for c in names]
    if any(c not in frames.columns for c in cols) or all(
        frames[c].null_count() == frames.height for c in cols
    ):
        return None
    return np.column_stack([frames[c].cast(pl.Float64).fill_null(np.nan).to_numpy() for c in cols])


def _moving_mean(x: np.ndarray, width: int) -> np.ndarray:
    """Centred moving average; the ends average over the samples that exist."""
    kernel = np.ones(width)
    return np.convolve(x, kernel, mode="same") / np.convolve(np.ones_like(x), kernel, mode="same")


def _highpass(x: np.ndarray, rate: float, cutoff_hz: float, padtype: str = "odd") -> np.ndarray:
    """Zero-lag 2nd-order Butterworth high-pass (Winter 2009, ch. 3).

    Padded by reflection over three time constants: odd (the default) for a drifting signal, whose
    drift at an end is a ramp that the reflection continues and a second-order high-pass removes
    instead of ringing; even (``padtype="even"``) for one that oscillates about its mean, which
    an odd reflection would double at an end that falls on a peak.
    """
    if len(x) < 15:
        return x - x.mean()
    sos = butter(2, cutoff_hz / (rate / 2.0), btype="highpass", output="sos")
    return sosfiltfilt(sos, x, padtype=padtype, padlen=min(len(x) - 1, int(3 * rate / cutoff_hz)))


def rest_samples(acc: np.ndarray, gyr: np.ndarray | None, rate: float) -> np.ndarray:
    """Samples of still stretches at least ``REST_S`` long (module docstring, 2)."""
    width = max(3, int(round(STILL_WINDOW_S * rate)))
    norm = np.linalg.norm(acc, axis=1) / GRAVITY
    mean = _moving_mean(norm, width)
    still = np.sqrt(np.maximum(_moving_mean(norm**2, width) - mean**2, 0.0)) < STILL_ACC_G
    if gyr is not None:
        still &= _moving_mean(np.linalg.norm(gyr, axis=1), width) < STILL_GYR_RAD_S
    rest = np.zeros_like(still)
    for run in true_runs(still):
        if run.stop - run.start >= REST_S * rate:
            rest[run] = True
    return rest


# --------------------------------------------------------------------------- height
def _vertical_specific_force(
    acc: np.ndarray, gyr: np.ndarray | None, quat: np.ndarray | None, t_s: np.ndarray, rest: np.ndarray
) -> tuple[np.ndarray, bool]:
    """(f . up in m/s^2 from the sensor's orientation, True) or, without a gyroscope or usable
    quaternion, (|f|, False) (module docstring, 1)."""
    if quat is not None and np.isfinite(quat).all():
        return np.einsum("ij,ij->i", acc, up_from_quaternion(quat)), True
    if gyr is None:
        return np.linalg.norm(acc, axis=1), False
    if rest.any():
        gyr = gyr - np.median(gyr[rest], axis=0)
    up0 = acc[rest].mean(axis=0) if rest.any() else acc[: max(1, len(acc) // 20)].mean(axis=0)
    forward = up_from_fusion(acc, gyr, t_s, up0)
    backward = up_from_fusion(acc[::-1], -gyr[::-1], -t_s[::-1], forward[-1])[::-1]
    up = forward + backward
    up /= np.linalg.norm(up, axis=1, keepdims=True)
    return np.einsum("ij,ij->i", acc, up), True


def _height(
    acc: np.ndarray, gyr: np.ndarray | None, quat: np.ndarray | None, t_s: np.ndarray, rate: float
) -> tuple[np.ndarray, np.ndarray]:
    """(height in m, rest mask) of one stretch without gaps (module docstring, 1-4)."""
    rest = rest_samples(acc, gyr, rate)
    f_v, vertical = _vertical_specific_force(acc, gyr, quat, t_s, rest)
    f_v = lowpass(f_v, rate, min(ACC_LOWPASS_HZ, 0.4 * rate))
    gravity = np.empty_like(f_v)
    for part in true_runs(rest) + true_runs(~rest):
        gravity[part] = f_v[part].mean()
    a_v = f_v - gravity
    if not vertical:
        # |f| of a swinging load: its slowly varying centripetal excess is not lift. A stretch cut
        # off by a logging gap can end on a bottom passage's 3 g peak: mirrored oddly, that end
        # drove the heights beside the gap metres high (a real set with 0.5 s lost counted 2 of 10)
        a_v = np.where(rest, 0.0, _highpass(a_v, rate, HIGHPASS_HZ, "even"))
    velocity = cumulative_trapezoid(a_v, t_s, initial=0.0)
    if rest[0] and rest[-1]:
        # every movement lies between two rests: zero-velocity updates bound the drift
        raw = velocity
        velocity = np.where(rest, 0.0, raw)
        for part in true_runs(~rest):
            a, b = part.start, part.stop
            velocity[a:b] = raw[a:b] - np.interp(t_s[a:b], t_s[[a - 1, b]], raw[[a - 1, b]])
        height = cumulative_trapezoid(velocity, t_s, initial=0.0)
    else:
        velocity = _highpass(velocity, rate, HIGHPASS_HZ)
        velocity[rest] = 0.0
        height = _highpass(cumulative_trapezoid(velocity, t_s, initial=0.0), rate, HIGHPASS_HZ)
    return height, rest


# --------------------------------------------------------------------------- repetition
def _autocorrelation_peaks(x: np.ndarray, rate: float, valid: np.ndarray) -> tuple[float, float]:
    """(r(tau), r(~2 tau)) at the highest autocorrelation peak tau in the rep-cycle range that
    fits three times into ``x``.

    The biased autocorrelation (N equal cycles give (N - 1)/N), with samples outside ``valid`` (a
    logging gap) missing rather than zero: each lag's sum runs over the pairs both of whose samples
    exist and is scaled to the pairs the window would have without the gap (the masked
    autocorrelation of gappy series, e.g. Edelson & Krolik, ApJ 1988, 333:646, for irregular
    sampling), so a gap lowers neither peak. A lag that keeps fewer than a third of its pairs reads 0:
    one movement beside a long gap is not scaled up into a cycle."""
    x = np.where(valid, x - x[valid].mean(), 0.0) if valid.any() else np.zeros_like(x)
    n = len(x)
    energy = float(np.dot(x, x))
    lo, hi = max(1, int(MIN_PERIOD_S * rate)), min(int(MAX_PERIOD_S * rate), n // 3)
    if energy <= 0.0 or hi <= lo:
        return 0.0, 0.0

    def lagged(v: np.ndarray) -> np.ndarray:
        spectrum = np.fft.rfft(v, 2 * n)
        return np.fft.irfft(spectrum * np.conj(spectrum))[:n]

    pairs = np.rint(lagged(valid.astype(np.float64)))
    expected = pairs[0] * (n - np.arange(n)) / n  # pairs at each lag had every sample been there
    with np.errstate(invalid="ignore", divide="ignore"):
        ac = np.where(3 * pairs >= expected, lagged(x) * expected / pairs, 0.0) / energy
    lags = np.arange(lo, hi + 1)
    is_peak = (ac[lags] >= ac[lags - 1]) & (ac[lags] >= ac[lags + 1])
    if not is_peak.any():
        return 0.0, 0.0
    tau = int(lags[is_peak][np.argmax(ac[lags][is_peak])])
    a, b = int(1.8 * tau), min(int(2.2 * tau) + 1, n)  # a second cycle up to 10 % off the first
    return float(ac[tau]), float(ac[a:b].max()) if b > a else 0.0


def _repeating(t_s: np.ndarray, height: np.ndarray) -> np.ndarray:
    """Weight in [0, 1] per sample: 1 inside windows whose movement repeats (docstring, 5).

    Each stretch of data is high-passed on its own (stretches are integrated separately, so their
    levels do not join up), and windows span logging gaps, whose samples are missing to the
    autocorrelation (`_autocorrelation_peaks`): the reps on both sides of a gap belong to one set,
    and a stretch beside it holding one or two of them repeats with the others (a 5-rep set with
    one rep lost in a 1-s gap counted none).
    """
    finite = np.isfinite(height)
    if not finite.any():
        return np.zeros(len(t_s))
    grid = np.arange(t_s[finite][0], t_s[finite][-1] + 0.5 / PERIODIC_RATE_HZ, 1.0 / PERIODIC_RATE_HZ)
    x = np.zeros(len(grid))
    recorded = np.zeros(len(grid), dtype=bool)
    for run in true_runs(finite):
        t = t_s[run]
        inside = (grid >= t[0]) & (grid <= t[-1])
        recorded |= inside
        if inside.any():
            # slower than the slowest rep cycle is drift or a change of place, not repetition
            x[inside] = _highpass(
                np.interp(grid[inside], t, height[run]), PERIODIC_RATE_HZ, 1.0 / MAX_PERIOD_S
            )
    hop = max(1, int(PERIODIC_HOP_S * PERIODIC_RATE_HZ))
    ramp = max(1, int(GATE_RAMP_S * PERIODIC_RATE_HZ))
    n = len(x)
    keep = np.zeros(n)
    for window_s in PERIODIC_WINDOWS_S:
        width = int(window_s * PERIODIC_RATE_HZ)
        for centre in range(0, n, hop):
            a = max(0, min(centre - width // 2, n - width))
            b = min(n, a + width)
            r1, r2 = _autocorrelation_peaks(x[a:b], PERIODIC_RATE_HZ, recorded[a:b])
            if r1 >= MIN_AUTOCORRELATION and r2 >= MIN_AUTOCORRELATION_2:
                keep[a:b] = 1.0
    keep = np.clip(_moving_mean(keep, 2 * ramp + 1), 0.0, 1.0)
    return np.where(finite, np.interp(t_s, grid, keep), 0.0)


# --------------------------------------------------------------------------- rest position
def _departure(x: np.ndarray, rest: np.ndarray) -> float:
    """Sign (+1 up, -1 down, 0 none) of the first departure of more than ``REST_DEPARTURE_M``
    from the height held before the first movement (the first sample when it starts moving)."""
    moving = np.flatnonzero(~rest)
    start = int(moving[0]) if rest[0] and len(moving) else 0
    away = np.flatnonzero(np.abs(x[start:] - x[max(start - 1, 0)]) > REST_DEPARTURE_M)
    return float(np.sign(x[start + away[0]] - x[max(start - 1, 0)])) if len(away) else 0.0


def _rest_referenced(
    height: np.ndarray, rest: np.ndarray, rate: float, load_rest: str | None, unread: float = 1.0
) -> np.ndarray:
    """Height turned so reps rise, minus its rest level (module docstring, 6); NaN kept.
    ``unread``: the reps' direction (+1 up, -1 down) when the recording does not say it."""
    finite = np.isfinite(height)
    x, r = height[finite], rest[finite]
    if load_rest is not None:
        direction = 1.0 if load_rest == "bottom" else -1.0
    else:
        direction = _departure(x, r) or _departure(x[::-1], r[::-1]) or unread
    turned = -height if direction < 0 else height
    out = np.full(len(height), np.nan)
    size = max(3, int(MAX_PERIOD_S * rate))
    for run in true_runs(finite):
        seg = turned[run]
        out[run] = seg - maximum_filter1d(minimum_filter1d(seg, size, mode="nearest"), size, mode="nearest")
    return out


# --------------------------------------------------------------------------- public
def implement_rep_signal(
    frames: pl.DataFrame, sample_rate_hz: float, placement: str, exercise: str | None = None
) -> RepSignal | None:
    """The load's height above its rest position (m) where the movement repeats, else 0; None
    when the frames have no accelerometer for ``placement``.

    ``frames`` are canonical IMU frames (schema.IMU_FRAMES) at a regular ``sample_rate_hz``;
    ``<placement>_gyr_*`` and ``<placement>_quat_*`` are used when present. Rows without
    accelerometer data stay NaN. Use ``segment_reps(t_s, s.values, min_prominence=s.min_prominence,
    min_range=s.min_range)``. ``exercise`` (the manifest's) tells where the load rests
    (``LOAD_REST``); others are read from the recording. Method and sources: module docstring.
    """
    measured = _sensor_height(frames, float(sample_rate_hz), placement)
    if measured is None:
        return None
    t_s, height, rest, recorded = measured
    values = np.where(np.isfinite(height), 0.0, np.nan)
    if np.isfinite(height).any():
        weight = _repeating(t_s, height)
        for region in true_runs(weight > 0):  # each repeating stretch has its own rest position
            values[region] = (
                _rest_referenced(height[region], rest[region], sample_rate_hz, LOAD_REST.get(exercise or ""))
                * weight[region]
            )
    values[~recorded] = np.nan
    return RepSignal(values, f"{placement}_height_m", "m", MIN_RANGE_M, MIN_PROMINENCE_M)


def trunk_rep_signal(
    frames: pl.DataFrame, sample_rate_hz: float, placement: str, exercise: str | None = None
) -> RepSignal | None:
    """How far the trunk sensor at ``placement`` has dropped from standing (m), for a squat or
    lunge read by trunk sensors alone (module docstring, "The trunk's height"); None when the
    frames have no accelerometer for ``placement``. ``exercise`` as in `implement_rep_signal`."""
    measured = _sensor_height(frames, float(sample_rate_hz), placement)
    if measured is None:
        return None
    _, height, rest, recorded = measured
    values = np.full(len(height), np.nan)
    for run in true_runs(np.isfinite(height)):  # each stretch between gaps is integrated on its own
        values[run] = _rest_referenced(
            height[run], rest[run], sample_rate_hz, LOAD_REST.get(exercise or ""), unread=-1.0
        )
    values[~recorded] = np.nan
    return RepSignal(values, TRUNK_HEIGHT, "m", MIN_RANGE_M, MIN_PROMINENCE_M)


def _sensor_height(
    frames: pl.DataFrame, rate: float, placement: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
    """(t_s, height in m, rest mask, recorded mask) of the sensor at ``placement``, each stretch
    between logging gaps integrated on its own (module docstring, 1-4); None without an
    accelerometer there."""
    acc = placement_channels(frames, placement, ACCELEROMETER_CHANNELS)
    if acc is None:
        return None
    t_s = frames["t_s"].cast(pl.Float64).to_numpy()
    recorded = np.isfinite(acc).all(axis=1)
    gyr = placement_channels(frames, placement, GYROSCOPE_CHANNELS)
    quat = placement_channels(frames, placement, QUATERNION_CHANNELS)
    acc = interpolate_gaps(acc, rate, MAX_GAP_S)
    finite = np.isfinite(acc).all(axis=1)
    if gyr is not None:
        gyr = interpolate_gaps(gyr, rate, MAX_GAP_S)
        finite &= np.isfinite(gyr).all(axis=1)
    height = np.full(len(t_s), np.nan)
    rest = np.zeros(len(t_s), dtype=bool)
    for run in true_runs(finite):
        if run.stop - run.start >= max(15, MIN_RUN_S * rate):
            height[run], rest[run] = _height(
                acc[run],
                None if gyr is None else gyr[run],
                None if quat is None else quat[run],
                t_s[run],
                rate,
            )
    return t_s, height, rest, recorded
