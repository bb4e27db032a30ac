"""IMU recordings: a folder with one CSV per sensor, file stem = placement (SPEC.md ``imu_csv``).

Layouts (docs/formats.md):

- **generic**: ``time_s, acc_x..z, gyr_x..z[, quat_w..z]`` in SI units unless a header line or
  the column names say otherwise (``gyr_x_deg_s``, ``Gyr_X (deg/s)``, ``acc_x_g``, ``Acc_X
  [mg]``); a file that says nothing is read in the unit its data imply (gyroscope: how far it
  turns the sensor against gravity, `gyroscope_to_gravity_ratio`; accelerometer: the size of
  gravity, `_accelerometer_scale`), with a note.
- **Movella DOT** CSV export (Movella DOT User Manual; the ``XsensDotLogger`` writer of the DOT
  SDK): optional ``sep=,``/``DeviceTag:``/``OutputRate:`` lines, then ``PacketCounter,
  SampleTimeFine, ...`` with ``Acc_X..Z`` (m/s^2), ``Gyr_X..Z`` (**deg/s**), ``Quat_W..Z``; the
  sensor-fusion modes write only ``Euler_X..Z`` or ``Quat_W..Z`` and ``FreeAcc_X..Z``, from which
  the accelerometer's reading is rebuilt (`specific_force`); the "Orientation" modes write the
  orientation alone, from which the tilt is read directly.
  ``SampleTimeFine`` is in microseconds, an unsigned 32-bit counter wrapping at 2^32 us.
- **Xsens MT Manager** export (MTi/MTw ``.txt``, Xsens MT Manager User Manual, "Exporting data"):
  ``// `` comment lines (``// Update Rate: 100.0Hz``), tab/comma/semicolon delimiter, Gyr in
  rad/s, orientation as ``Quat_q0..q3``, ``Mat[r][c]`` or ``Roll/Pitch/Yaw`` (deg, Z-Y-X);
  ``SampleTimeFine`` in 10 kHz ticks, often empty - then time = PacketCounter (uint16, wraps)
  / the header's update rate (or the manifest's sample_rate_hz).

Canonical channels (schema.IMU_CHANNELS): acc m/s^2 including gravity, gyr rad/s in the sensor
frame, quaternion w-first sensor-to-global (global z up). Sensors are aligned on the time span
they share, resampled by linear interpolation to the fastest sensor's rate. An APDM Opal "Format=7"
file holds all sensors in one wide CSV (`apdm_sensors`).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from hinge_analytics.ingest.checks import (
    MAX_GAP_S,
    MAX_MISSING_FRACTION,
    RATE_TOLERANCE,
    check_increasing,
    check_time_unit,
    fill_gaps,
    logger_order,
    time_scale,
)
from hinge_analytics.ingest.errors import BadRecording
from hinge_analytics.ingest.frames import RecordingRead, imu_frames_from_arrays
from hinge_analytics.ingest.spreadsheet import SEPARATORS, decimal_point
from hinge_analytics.numeric import STANDARD_GRAVITY, quat_matrix
from hinge_analytics.schema import IMU_PLACEMENTS, OFF_BODY_PLACEMENTS

MAX_BYTES = 256 * 1024 * 1024
MAX_SENSOR_FILES = 32
_US_WRAP = 2**32
_COUNTER_WRAP = 2**16
_TIME_COLUMNS: tuple[tuple[str, float | None], ...] = (
    ("time_s", 1.0),
    ("timestamp_s", 1.0),
    ("timestamp_ms", 1e-3),
    ("time_ms", 1e-3),
    ("millis", 1e-3),  # Arduino's millis()
    ("micros", 1e-6),
    ("time", None),  # unit not named: the one that gives a sampling rate a logger has
    ("timestamp", None),
    ("datetime", None),
)
# Columns that may hold a clock reading instead of a number (`clock_seconds`).
_CLOCK_COLUMNS = frozenset({"time", "timestamp", "datetime"})
_KNOWN = {"packetcounter", "sampletimefine", "acc_x", "gyr_x", "quat_w", "quat_q0"} | {
    c for c, _ in _TIME_COLUMNS
}

# A gyroscope whose file does not state its unit is read in deg/s when, read as rad/s, it turns
# the sensor this many times further than gravity shows (`gyroscope_to_gravity_ratio`): between the
# 2.5 seen in the right unit and the 20 that 0.36 x 57 gives in the wrong one.
DEGREES_RATIO = 8.0
# A body sensor's gyroscope turning it this many times less far than gravity shows is in rad/s
# converted to rad/s again (read as deg/s): 0.006-0.044, against 0.36 and more in the right unit.
RADIANS_RATIO = 1.0 / DEGREES_RATIO
MIN_TILT_PATH_RAD = 1.0  # gravity's direction must travel this far in the sensor to tell


@dataclass
class SensorData:
    """One sensor file, parsed: absolute time (s) and canonical channels."""

    placement: str
    t_s: np.ndarray
    channels: dict[str, np.ndarray] = field(default_factory=dict)
    layout: str = "generic"  # generic | movella_dot | xsens_mt
    header_rate_hz: float | None = None
    source: str = ""  # the file it came from, for messages
    notes: tuple[str, ...] = ()  # for the coach, e.g. a gyroscope unit read from the data

    @property
    def named(self) -> str:
        return f"the {self.placement} sensor" + (f" ({self.source})" if self.source else "")


# Words for a placement in sensor names that do not spell it as SPEC.md does ("Left Thigh",
# "R_shin", "lumbar", "Right Wrist"): a side and a limb segment, or a region of the back.
_SIDES = {"left": "left", "l": "left", "right": "right", "r": "right"}
# A sensor "at the ankle" is strapped on the shank just above it (APDM's ankle location).
_LIMB_SEGMENTS = {"thigh": "thigh", "shank": "shank", "shin": "shank", "ankle": "shank", "wrist": "wrist"}
_BACK = {
    ("lower", "back"): "lower_back",
    ("lumbar",): "lower_back",
    ("upper", "back"): "upper_back",
    ("thoracic",): "upper_back",
    # The thorax turns as one: a sensor on the sternum tilts as one on the upper back does.
    ("chest",): "upper_back",
    ("sternum",): "upper_back",
    ("pelvis",): "sacrum",
    ("sacrum",): "sacrum",
}


def placement_in(name: str) -> str | None:
    """The placement a sensor's name gives (``thigh_left``, ``S1_thigh-left``, ``Thigh_Left_DOT``,
    ``Left Thigh``, ``R_shin``, ``lumbar``), None when it gives none or more than one."""
    stem = re.sub(r"[\s\-.]+", "_", name.strip().lower())
    for placement in sorted(IMU_PLACEMENTS, key=len, reverse=True):
        if stem == placement or stem.startswith(placement + "_") or stem.endswith("_" + placement):
            return placement
    words = set(stem.split("_"))
    sides = {_SIDES[w] for w in words & _SIDES.keys()}
    limbs = {_LIMB_SEGMENTS[w] for w in words & _LIMB_SEGMENTS.keys()}
    backs = {placement for key, placement in _BACK.items() if words.issuperset(key)}
    if len(limbs) == 1 and len(sides) == 1 and not backs:
        return f"{limbs.pop()}_{sides.pop()}"
    return backs.pop() if len(backs) == 1 and not limbs else None


def placement_of(path: Path, tag: str | None = None) -> str:
    """The placement of a sensor file: from its name (`placement_in`), else from the name the
    sensor was given in its app (``tag``: Movella DOT's ``DeviceTag``)."""
    placement = placement_in(path.stem) or (placement_in(tag) if tag else None)
    if placement is None:
        raise BadRecording(
            f"The sensor file {path.name!r} is not named after a placement; rename it to one of "
            f"{', '.join(IMU_PLACEMENTS)} (e.g. thigh_left.csv), or give the sensor that name in its app."
        )
    return placement


def _decode(path: Path) -> str:
    if path.stat().st_size > MAX_BYTES:
        raise BadRecording(f"{path.name} is larger than 256 MB; split the recording.")
    raw = path.read_bytes()
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = raw.decode("utf-16", errors="replace")
    else:
        if b"\x00" in raw[:4096]:
            raise BadRecording(f"{path.name} is a binary file, not a CSV/text export.")
        text = raw.decode("utf-8-sig", errors="replace")
    return text


def _split(line: str, delimiter: str | None) -> list[str]:
    return line.split(delimiter) if delimiter else line.split()


ACC_UNITS = {"m/s^2": 1.0, "m/s2": 1.0, "m/s²": 1.0, "g": STANDARD_GRAVITY, "mg": STANDARD_GRAVITY / 1000}
GYR_UNITS = {"rad/s": 1.0, "deg/s": np.pi / 180, "dps": np.pi / 180}
# A unit written into a channel's name (``gyr_x_deg_s``, ``acc_x_g``) or after it in brackets
# (``Acc_X (g)``, ``gyr_x [rad/s]``), in the spellings loggers use, -> the unit's one name.
_UNIT_SPELLINGS = {
    "g": "g",
    "mg": "mg",
    **dict.fromkeys(("m/s^2", "m/s2", "m/s²", "ms2", "m_s2", "m_s_2", "ms^-2", "m*s^-2"), "m/s^2"),
    **dict.fromkeys(("deg/s", "deg_s", "degs", "dps", "°/s", "degrees/s"), "deg/s"),
    **dict.fromkeys(("rad/s", "rad_s", "rads"), "rad/s"),
}
_SPELLED = "|".join(map(re.escape, _UNIT_SPELLINGS))
# Channel names loggers write besides acc_x/gyr_x: Accel_X, AccX, accelerometer_x, ax (Arduino
# MPU6050 sketches: ax, ay, az, gx, gy, gz), Gyro_X, GyroX, gyroscope_x, gx.
_ACC_NAMES = ("acc", "accel", "accelerometer", "acceleration", "a")
_GYR_NAMES = ("gyr", "gyro", "gyroscope", "g")
_CHANNEL = re.compile(
    rf"^(?P<channel>freeacc|{'|'.join(_ACC_NAMES + _GYR_NAMES)})_?(?P<axis>[xyz])(?:_(?P<unit>{_SPELLED}))?$"
)
# An accelerometer reads gravity: the median of |acceleration| over a recording is 1 g, since a
# body or a load cannot accelerate away from it for long. Randomised simulated sensors (seeds 0,
# 61, 73, 88; 373 sensors) read 0.97-1.03 g; real ones 0.98-1.06 g (MetaMotion, kettlebell), up to
# 1.46 g on the squat set's hobby boards, whose offsets reach 0.6 g (`kinematics.imu`).
GRAVITY_MEDIAN_G = (0.5, 2.0)
# Gravity also keeps the magnitude steady: interquartile range over median of |acceleration|
# 0.00-0.36 on those sensors. Acceleration with gravity removed has no floor, so its magnitude
# spreads from ~0 (the same sensors with gravity taken out: 0.19-9.9, most over 1).
GRAVITY_STEADINESS = 0.5
ACC_UNIT_SIZE = {"g": 1.0, "mg": 1000.0}  # gravity in the units a file may not name


def clock_seconds(cell: str) -> float | None:
    """Seconds of an ISO 8601 date-time (``2025-10-11T16:21:53.388``, ``2025-10-11 16:21:53.388Z``;
    since 1970, a date-time without a zone read as UTC) or time of day (``16:21:53.388``; since
    midnight), as loggers with a clock write them; None for anything else."""
    text = cell.strip().strip('"')
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        try:
            day = dt.time.fromisoformat(text)
        except ValueError:
            return None
        return day.hour * 3600.0 + day.minute * 60.0 + day.second + day.microsecond / 1e6
    return (when if when.tzinfo else when.replace(tzinfo=dt.UTC)).timestamp()


def _column_key(name: str) -> str:
    """``'Gyr_X (deg/s)'`` -> ``'gyr_x'``; ``'gyr_x_deg_s'`` -> ``'gyr_x'``; ``'Mat[1][2]'`` ->
    ``'mat[1][2]'``."""
    key = re.sub(r"\s+", "", re.split(r"\(|\s\[", name)[0]).strip().strip('"').lower()
    channel = _CHANNEL.match(key)
    if channel is None:
        return key
    kind = channel["channel"]
    kind = kind if kind == "freeacc" else "acc" if kind in _ACC_NAMES else "gyr"
    return f"{kind}_{channel['axis']}"


def _column_unit(name: str) -> str | None:
    """The unit a column's name states (`_UNIT_SPELLINGS`), None when it states none."""
    bracketed = re.search(r"[(\[]\s*([^)\]]+?)\s*[)\]]\s*$", name.strip().strip('"'))
    if bracketed:
        return _UNIT_SPELLINGS.get(bracketed.group(1).lower().replace(" ", ""))
    channel = _CHANNEL.match(re.sub(r"\s+", "", name).strip('"').lower())
    return _UNIT_SPELLINGS[channel["unit"]] if channel and channel["unit"] else None


def _quat_from_matrix(m: np.ndarray) -> np.ndarray:
    """(n, 3, 3) rotation matrices -> (n, 4) w-first unit quaternions (Shepperd's method)."""
    n = len(m)
    q = np.full((n, 4), np.nan)
    trace = m[:, 0, 0] + m[:, 1, 1] + m[:, 2, 2]
    cases = np.stack([trace, m[:, 0, 0], m[:, 1, 1], m[:, 2, 2]], axis=1)
    ok = np.all(np.isfinite(m.reshape(n, 9)), axis=1)
    pick = np.argmax(np.where(np.isfinite(cases), cases, -np.inf), axis=1)
    for i in np.flatnonzero(ok):
        r = m[i]
        k = pick[i]
        if k == 0:
            s = np.sqrt(max(1.0 + trace[i], 1e-12)) * 2
            q[i] = [0.25 * s, (r[2, 1] - r[1, 2]) / s, (r[0, 2] - r[2, 0]) / s, (r[1, 0] - r[0, 1]) / s]
        elif k == 1:
            s = np.sqrt(max(1.0 + r[0, 0] - r[1, 1] - r[2, 2], 1e-12)) * 2
            q[i] = [(r[2, 1] - r[1, 2]) / s, 0.25 * s, (r[0, 1] + r[1, 0]) / s, (r[0, 2] + r[2, 0]) / s]
        elif k == 2:
            s = np.sqrt(max(1.0 + r[1, 1] - r[0, 0] - r[2, 2], 1e-12)) * 2
            q[i] = [(r[0, 2] - r[2, 0]) / s, (r[0, 1] + r[1, 0]) / s, 0.25 * s, (r[1, 2] + r[2, 1]) / s]
        else:
            s = np.sqrt(max(1.0 + r[2, 2] - r[0, 0] - r[1, 1], 1e-12)) * 2
            q[i] = [(r[1, 0] - r[0, 1]) / s, (r[0, 2] + r[2, 0]) / s, (r[1, 2] + r[2, 1]) / s, 0.25 * s]
    return _normalise(q)


def _quat_from_euler_deg(roll: np.ndarray, pitch: np.ndarray, yaw: np.ndarray) -> np.ndarray:
    """Xsens Euler angles (deg; R = Rz(yaw) Ry(pitch) Rx(roll)) -> w-first quaternions."""
    r, p, y = (np.radians(a) / 2 for a in (roll, pitch, yaw))
    cr, sr, cp, sp, cy, sy = np.cos(r), np.sin(r), np.cos(p), np.sin(p), np.cos(y), np.sin(y)
    return np.column_stack(
        [
            cr * cp * cy + sr * sp * sy,
            sr * cp * cy - cr * sp * sy,
            cr * sp * cy + sr * cp * sy,
            cr * cp * sy - sr * sp * cy,
        ]
    )


def specific_force(quat: np.ndarray, free_acc: np.ndarray) -> np.ndarray:
    """What the accelerometer read (m/s^2, sensor frame, gravity included) from a sensor-fusion
    output: orientation ``quat`` (w-first, sensor to a z-up earth frame) and free acceleration
    (earth frame, gravity removed).

    Movella DOT's sensor-fusion measurement modes ("Complete/Extended (Euler)", "(Quaternion)")
    export only these: free acceleration = R_LS a_S - g_L, with L the local ENU frame and g_L =
    (0, 0, g) (Movella DOT User Manual, "Output specifications"; Xsens MTi User Manual, "Free
    acceleration"), so a_S = R_LS^T (free acceleration + g_L)."""
    up = np.asarray(free_acc, dtype=np.float64) + np.array([0.0, 0.0, STANDARD_GRAVITY])
    return np.einsum("nji,nj->ni", quat_matrix(quat), up)


def _normalise(q: np.ndarray) -> np.ndarray:
    norm = np.linalg.norm(q, axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        q = q / norm
    q[~np.isfinite(norm[:, 0]) | (norm[:, 0] < 1e-6)] = np.nan
    # One hemisphere, so that interpolation between neighbours does not pass through zero.
    for i in range(1, len(q)):
        if np.all(np.isfinite(q[i])) and np.all(np.isfinite(q[i - 1])) and q[i] @ q[i - 1] < 0:
            q[i] = -q[i]
    return q


def _unwrap(values: np.ndarray, wrap: int) -> np.ndarray:
    """Unwrap an unsigned counter. Other steps back are left as they are, for `logger_order` to
    mend (rows out of order, a packet written twice) or `check_increasing` to refuse."""
    v = values.astype(np.float64)
    steps = np.diff(v)
    margin = wrap / 8
    wrapped = (steps < 0) & (v[:-1] > wrap - margin) & (v[1:] < margin)
    steps[wrapped] += wrap
    return np.concatenate([[v[0]], v[0] + np.cumsum(steps)])


def _device_tag(lines: list[str]) -> str | None:
    """The name a Movella DOT sensor was given in its app (header line ``DeviceTag:,<tag>``)."""
    for line in lines[:30]:
        if line.lower().startswith("devicetag:"):
            return line.split(":", 1)[1].strip(" ,\t") or None
    return None


def find_header(lines: list[str]) -> tuple[int, str] | None:
    """(line index, delimiter) of the row naming a sensor file's columns: the first of the first
    200 lines that names an IMU channel (acc, gyr, orientation) beside a known column; None when
    there is none. ``sep=`` and ``//`` lines before it are the exporters' metadata."""
    delimiter: str | None = None
    for i, line in enumerate(lines[:200]):
        if line.lower().startswith("sep=") and len(line) > 4:
            delimiter = line[4]
            continue
        if line.startswith("//"):
            continue
        delim = delimiter or ("\t" if "\t" in line else ";" if line.count(";") > line.count(",") else ",")
        keys = {_column_key(c) for c in _split(line, delim)}
        if keys & _KNOWN and (
            {"acc_x", "gyr_x", "quat_w", "quat_q0"} & keys
            or "mat[1][1]" in keys
            or {"roll", "euler_x"} & keys
        ):
            return i, delim
    return None


def parse_sensor_file(path: Path, sample_rate_hz: float | None = None) -> SensorData:
    """Parse one sensor's export (generic, Movella DOT or Xsens MT Manager) to SI channels."""
    lines = _decode(path).splitlines()
    return parse_sensor_lines(lines, path.name, placement_of(path, _device_tag(lines)), sample_rate_hz)


def parse_sensor_lines(
    lines: list[str], name: str, placement: str, sample_rate_hz: float | None = None
) -> SensorData:
    """`parse_sensor_file` of a file's ``lines`` (``name``: the file, for messages), worn at
    ``placement``."""
    header = find_header(lines)
    if header is None:
        raise BadRecording(
            f"{name} has no column row with IMU channels (e.g. time_s, acc_x, gyr_x or "
            "PacketCounter, SampleTimeFine, Acc_X, Gyr_X)."
        )
    header_at, delimiter = header
    meta = "\n".join(lines[:header_at]).lower()
    header_cells = _split(lines[header_at], delimiter)
    keys = [_column_key(c) for c in header_cells]
    if len(set(k for k in keys if k)) != len([k for k in keys if k]):
        raise BadRecording(f"{name} has duplicate column names; re-export it.")
    index = {k: i for i, k in enumerate(keys) if k}
    stated_units = {k: u for k, c in zip(keys, header_cells, strict=True) if (u := _column_unit(c))}
    layout = _dialect(meta, lines[:header_at], index)
    rate_match = re.search(
        r"(?:update rate|outputrate|output rate|sampl\w* rate)\W*([0-9]+(?:\.[0-9]+)?)\s*hz", meta
    )
    header_rate = float(rate_match.group(1)) if rate_match else None
    col = _read_columns(lines, header_at, delimiter, header_cells, name)
    t, rows = logger_order(_time(col, layout, header_rate, sample_rate_hz, name), list(col.values()))
    col = {k: v[rows] for k, v in col.items()}
    header_line = lines[header_at].lower()
    gyro_deg, notes = _gyroscope_in_degrees(col, t, layout, meta, header_line, stated_units, placement)
    acc_scale, acc_note = _accelerometer_scale(col, stated_units, layout, placement)
    channels, rebuilt = _si_channels(col, acc_scale, gyro_deg, placement)
    notes += acc_note + rebuilt
    if not any(k.startswith(("acc", "gyr", "quat")) for k in channels):
        raise BadRecording(
            f"{name} has no accelerometer, gyroscope or orientation columns (Acc_X, Gyr_X, Quat_W, "
            "Euler_X); export a measurement mode that includes one of them."
        )
    gyroscope, accelerometer = ([f"{kind}_{a}" for a in "xyz"] for kind in ("gyr", "acc"))
    if all(c in channels for c in gyroscope + accelerometer):
        gyr, acc = (np.column_stack([channels[c] for c in names]) for names in (gyroscope, accelerometer))
        dead = dead_gyroscope_note(placement, gyr, acc, name)
        if dead:
            channels = {k: v for k, v in channels.items() if k not in gyroscope}
            notes += (dead,)
    check_sensor(placement, t, channels, name)
    return SensorData(placement, t, channels, layout, header_rate, name, notes)


APDM_FORMAT = "Format=7"


def is_apdm_text(text: str) -> bool:
    """Whether a file's text (or its first bytes, decoded) opens as an APDM Opal wide export."""
    return text.lstrip("\ufeff").startswith(APDM_FORMAT)


def is_apdm_export(path: Path) -> bool:
    """Whether ``path`` is an APDM Opal wide export: one file that is a whole recording."""
    try:
        with path.open("rb") as handle:
            return is_apdm_text(handle.read(64).decode("utf-8", "replace"))
    except OSError:
        return False


_APDM_CHANNELS = {"Accelerometer": "acc", "Gyroscope": "gyr"}


def apdm_sensors(
    lines: list[str], name: str, sample_rate_hz: float | None = None
) -> tuple[list[SensorData], tuple[str, ...]]:
    """The sensors of an APDM Opal "Format=7" CSV export (Mobility Lab / Moveo Explorer), all in one
    wide file: row 1 gives each sensor's serial number and location label over its block of
    columns, row 2 the quantity (Accelerometer m/s^2, Gyroscope rad/s, Magnetometer, Barometer,
    Orientation), row 3 the axis; ``Time`` is in microseconds since 1970. Each located sensor is
    read as a generic file of its own (accelerometer and gyroscope; its placement from the label,
    `placement_in`); sensors at no placement of SPEC.md (a foot) are left out, with a note.
    """
    rows = [line.split(",") for line in lines[:3]]
    if len(rows) < 3 or rows[1][:1] != ["Time"]:
        raise BadRecording(f"{name} starts like an APDM Opal export but its header rows are not APDM's.")
    width = max(len(r) for r in rows)
    serials, quantities, axes = ([c.strip() for c in [*r, *[""] * (width - len(r))]] for r in rows)
    blocks: list[list] = []  # [serial, location label, {"acc_x": column, ...}] per sensor
    quantity = ""
    for column in range(1, width):
        if serials[column].isdigit():
            blocks.append([serials[column], None, {}])
        elif serials[column] and blocks and blocks[-1][1] is None:
            blocks[-1][1] = serials[column]
        quantity = quantities[column] or quantity
        kind = _APDM_CHANNELS.get(quantity)
        if blocks and kind and axes[column].lower() in ("x", "y", "z"):
            blocks[-1][2][f"{kind}_{axes[column].lower()}"] = column
    sensors, left_out = [], []
    for serial, location, columns in blocks:
        label = location or serial
        placement = placement_in(label)
        if placement is None:
            left_out.append(label)
            continue
        kinds = [k for k in ("acc", "gyr") if all(f"{k}_{a}" in columns for a in "xyz")]
        names = [f"{k}_{a}" for k in kinds for a in "xyz"]
        body = [
            ",".join(cells[c] if c < len(cells) else "" for c in (0, *(columns[n] for n in names)))
            for cells in (line.split(",") for line in lines[3:] if line.strip())
        ]
        units = [f"{n} ({'m/s^2' if n.startswith('acc') else 'rad/s'})" for n in names]
        generic = [",".join(["micros", *units]), *body]
        sensors.append(parse_sensor_lines(generic, f"{name} ({label})", placement, sample_rate_hz))
    if not sensors:
        raise BadRecording(
            f"None of the sensors of {name} ({', '.join(left_out)}) is at a placement the product "
            f"reads ({', '.join(IMU_PLACEMENTS)})."
        )
    if not left_out:
        return sensors, ()
    return sensors, (
        f"The APDM sensors at {', '.join(left_out)} are at no placement the product reads: left out.",
    )


def _dialect(meta: str, preamble: list[str], index: dict[str, int]) -> str:
    """Which exporter wrote a sensor file: ``movella_dot`` (Movella DOT app: its tags, ``sep=``,
    or a SampleTimeFine clock and no other), ``xsens_mt`` (MT Manager: ``//`` comment lines), or
    ``generic``; ``meta`` is the lowered text above the column row, ``preamble`` its lines."""
    if "devicetag" in meta or "movella" in meta or "xsens dot" in meta or "sep=" in meta:
        return "movella_dot"
    if any(line.startswith("//") for line in preamble):
        return "xsens_mt"
    if "sampletimefine" in index and not any(c in index for c, _ in _TIME_COLUMNS):
        return "movella_dot"
    return "generic"


def _si_channels(
    col: dict[str, np.ndarray], acc_scale: float, gyro_deg: bool, placement: str
) -> tuple[dict[str, np.ndarray], tuple[str, ...]]:
    """The file's accelerometer (m/s^2), gyroscope (rad/s) and orientation channels, with the note
    when the accelerometer had to be rebuilt from orientation and free acceleration."""
    channels: dict[str, np.ndarray] = {}
    for axis in "xyz":
        if f"acc_{axis}" in col:
            channels[f"acc_{axis}"] = col[f"acc_{axis}"] * acc_scale
        if f"gyr_{axis}" in col:
            g = col[f"gyr_{axis}"]
            channels[f"gyr_{axis}"] = np.radians(g) if gyro_deg else g
    quat = _orientation(col)
    if quat is None:
        return channels, ()
    for i, c in enumerate("wxyz"):
        channels[f"quat_{c}"] = quat[:, i]
    if "acc_x" in channels or not all(f"freeacc_{a}" in col for a in "xyz"):
        return channels, ()
    free = np.column_stack([col[f"freeacc_{a}"] for a in "xyz"])
    channels.update(zip(("acc_x", "acc_y", "acc_z"), specific_force(quat, free).T, strict=True))
    return channels, (
        f"The {placement} sensor's file holds orientation and free acceleration (gravity removed): "
        "the accelerometer's reading was rebuilt from the two.",
    )


def _read_columns(
    lines: list[str], header_at: int, delimiter: str, header_cells: list[str], name: str
) -> dict[str, np.ndarray]:
    """The columns a sensor file's reader uses (time, channels, orientation), by `_column_key`,
    as float64 with NaN for empty cells. Raises BadRecording on a damaged row."""
    keys = [_column_key(c) for c in header_cells]
    index = {k: i for i, k in enumerate(keys) if k}
    wanted = [
        k
        for k in index
        if k in _KNOWN or re.match(r"^(free)?(acc|gyr)_[xyz]$|^quat_|^mat\[|^(roll|pitch|yaw)$|^euler_", k)
    ]
    columns: dict[str, list[float]] = {k: [] for k in wanted}
    # Cells split on semicolons or tabs may carry a decimal comma (a spreadsheet or an app such
    # as phyphox saving for a region that writes 1,5).
    decimal = decimal_point if delimiter in SEPARATORS[1:] else str
    for number, line in enumerate(lines[header_at + 1 :], start=header_at + 2):
        if not line.strip():
            continue
        cells = _split(line, delimiter)
        if len(cells) > len(keys) and any(c.strip() for c in cells[len(keys) :]):
            raise BadRecording(
                f"Line {number} of {name} has {len(cells)} values but the header names "
                f"{len(keys)} columns; the file is damaged or mis-exported."
            )
        for k in wanted:
            i = index[k]
            cell = decimal(cells[i].strip()) if i < len(cells) else ""
            try:
                columns[k].append(float(cell) if cell else np.nan)
            except ValueError:
                stamp = clock_seconds(cell) if k in _CLOCK_COLUMNS else None
                if stamp is None:
                    raise BadRecording(
                        f"Line {number} of {name} holds {cell[:20]!r} in column "
                        f"{header_cells[i].strip()!r}, which is not a number."
                    ) from None
                columns[k].append(stamp)
    n = len(next(iter(columns.values()))) if columns else 0
    if n < 2:
        raise BadRecording(f"{name} holds fewer than two samples.")
    col = {k: np.asarray(v, dtype=np.float64) for k, v in columns.items()}
    for v in col.values():
        v[~np.isfinite(v)] = np.nan
    return col


def _gyroscope_in_degrees(
    col: dict[str, np.ndarray],
    t: np.ndarray,
    layout: str,
    meta: str,
    header_line: str,
    stated_units: dict[str, str],
    placement: str,
) -> tuple[bool, tuple[str, ...]]:
    """Whether the gyroscope columns hold deg/s, with a note when the data had to say.

    The column names' own unit first, then the header's words (Movella DOT: deg/s, Xsens MT:
    rad/s unless stated); a generic file that states nothing is read in deg/s when, read as
    rad/s, it turns the sensor ``DEGREES_RATIO`` times further than gravity shows."""
    gyro_units = {stated_units.get(f"gyr_{a}") for a in "xyz"} - {None}
    if gyro_units:  # the columns' own names outrank a header line
        return gyro_units == {"deg/s"}, ()
    text = meta + "\n" + header_line
    degrees = layout == "movella_dot" or bool(re.search(r"deg/s|dps|deg_s|degrees per second", text))
    if layout == "xsens_mt" and not re.search(r"deg/s|dps|deg_s", header_line):
        degrees = False
    stated = layout != "generic" or degrees or bool(re.search(r"rad/s|rad_s", text))
    if stated or not all(f"{k}_{a}" in col for k in ("acc", "gyr") for a in "xyz"):
        return degrees, ()
    acc, gyr = (np.column_stack([col[f"{k}_{a}"] for a in "xyz"]) for k in ("acc", "gyr"))
    ratio = gyroscope_to_gravity_ratio(t, acc, gyr)
    if ratio is None or ratio <= DEGREES_RATIO:
        return False, ()
    note = (
        f"The {placement} sensor's gyroscope was read in deg/s: its file does not say, and read "
        f"as rad/s it turns the sensor {ratio:.0f} times further than gravity shows it tilting."
    )
    return True, (note,)


def _orientation(col: dict[str, np.ndarray]) -> np.ndarray | None:
    """Unit w-first quaternions (n, 4) from whichever orientation columns a file has (quaternion,
    rotation matrix or Z-Y-X Euler angles in deg), None without any."""
    quat = None
    if all(f"quat_{c}" in col for c in "wxyz"):
        quat = np.column_stack([col[f"quat_{c}"] for c in "wxyz"])
    elif all(f"quat_q{i}" in col for i in range(4)):
        quat = np.column_stack([col[f"quat_q{i}"] for i in range(4)])
    elif all(f"mat[{r}][{c}]" in col for r in (1, 2, 3) for c in (1, 2, 3)):
        m = np.stack([[col[f"mat[{r}][{c}]"] for c in (1, 2, 3)] for r in (1, 2, 3)])  # (3, 3, n)
        quat = _quat_from_matrix(np.transpose(m, (2, 0, 1)))
    elif all(k in col for k in ("roll", "pitch", "yaw")):
        quat = _quat_from_euler_deg(col["roll"], col["pitch"], col["yaw"])
    elif all(f"euler_{a}" in col for a in "xyz"):
        quat = _quat_from_euler_deg(col["euler_x"], col["euler_y"], col["euler_z"])
    return None if quat is None else _normalise(quat)


def _accelerometer_scale(
    col: dict[str, np.ndarray], stated_units: dict[str, str], layout: str, placement: str
) -> tuple[float, tuple[str, ...]]:
    """Factor to m/s^2 of a file's accelerometer columns, with a note for the coach when the
    unit was read from the data.

    Stated in the column names: that unit. Movella and Xsens exports: m/s^2 (their manuals).
    A generic file that does not say: the median magnitude of the specific force over the
    recording is gravity (`GRAVITY_MEDIAN_G`), so it tells g (~1) and mg (~1000) from m/s^2 (~9.8),
    when the magnitude is as steady as gravity keeps it (`GRAVITY_STEADINESS`): acceleration with
    gravity removed, in m/s^2, can also have a median near 1."""
    units = {stated_units.get(f"acc_{a}") for a in "xyz"} - {None}
    if len(units) > 1:
        raise BadRecording(f"The {placement} sensor's accelerometer columns name different units ({units}).")
    if units:
        return ACC_UNITS[units.pop()], ()
    if layout != "generic" or not all(f"acc_{a}" in col for a in "xyz"):
        return 1.0, ()
    magnitude = np.linalg.norm(np.column_stack([col[f"acc_{a}"] for a in "xyz"]), axis=1)
    if not np.isfinite(magnitude).any():
        return 1.0, ()
    q1, typical, q3 = np.nanpercentile(magnitude, [25, 50, 75])
    if typical <= 0 or (q3 - q1) / typical > GRAVITY_STEADINESS:
        return 1.0, ()  # no steady gravity in it: `check_sensor` says so in m/s^2
    low, high = GRAVITY_MEDIAN_G
    for unit, size in ACC_UNIT_SIZE.items():
        if low * size <= typical <= high * size:
            note = (
                f"The {placement} sensor's accelerometer was read in {unit}: its file does not say, and "
                f"it reads {typical:.4g} on average, where gravity is 1 g = 1000 mg = 9.81 m/s^2."
            )
            return ACC_UNITS[unit], (note,)
    return 1.0, ()


def gyroscope_to_gravity_ratio(t: np.ndarray, acc: np.ndarray, gyr: np.ndarray) -> float | None:
    """How far the gyroscope, read as rad/s, turns the sensor against gravity, divided by how far
    gravity's direction in the sensor actually moves (both over 0.2-s means); None when the sensor
    tilts through less than ``MIN_TILT_PATH_RAD`` in all, too little to tell.

    Gravity's direction u in the sensor's frame changes as du/dt = -w x u, whatever the sensor's
    heading, so the path u travels (the accelerometer, averaged over 0.2 s to damp movement) and
    the integral of |w x u| (the gyroscope) agree in the right unit. They did within 0.36-2.5 on
    simulated sets of every exercise and placement and within 0.56-1.46 on the real squat
    (rad/s) and MetaMotion (deg/s) sensors; a gyroscope in deg/s read as rad/s gives 57 times that."""
    ok = np.isfinite(acc).all(axis=1) & np.isfinite(gyr).all(axis=1)
    t, acc, gyr = t[ok], acc[ok], gyr[ok]
    if len(t) < 3:
        return None
    window = max(1, round(0.2 / float(np.median(np.diff(t)))))
    if len(t) <= 2 * window:
        return None

    def mean_over_window(x: np.ndarray) -> np.ndarray:
        summed = np.cumsum(np.vstack([np.zeros((1, 3)), x]), axis=0)
        return (summed[window:] - summed[:-window]) / window

    a, w, tw = mean_over_window(acc), mean_over_window(gyr), t[window - 1 :]
    norm = np.linalg.norm(a, axis=1, keepdims=True)
    if not (norm > 0).all():
        return None
    up = a / norm
    steps = up[::window]
    tilt_path = float(np.arccos(np.clip((steps[:-1] * steps[1:]).sum(axis=1), -1.0, 1.0)).sum())
    if tilt_path < MIN_TILT_PATH_RAD:
        return None
    turned = float((np.linalg.norm(np.cross(w, up), axis=1)[:-1] * np.diff(tw)).sum())
    return turned / tilt_path


def _time(
    col: dict[str, np.ndarray], layout: str, header_rate: float | None, manifest_rate: float | None, name: str
) -> np.ndarray:
    """Absolute time in seconds for each sample (shared clock across a session's sensors)."""
    broken = None  # the first time column with empty cells, for the message if nothing else works
    for column, scale in _TIME_COLUMNS:
        if column in col and np.all(np.isfinite(col[column])):
            scale = time_scale(col[column]) if scale is None else scale
            check_time_unit(col[column], column, scale, name)
            return col[column] * scale
        if column in col and broken is None:
            broken = column
    stf = col.get("sampletimefine")
    if stf is not None and np.all(np.isfinite(stf)):
        if np.any(stf < 0) or np.any(stf >= _US_WRAP):
            raise BadRecording(f"SampleTimeFine in {name} is outside the 32-bit counter's range.")
        ticks_per_s = 1e6 if layout == "movella_dot" else 1e4
        return _unwrap(stf, _US_WRAP) / ticks_per_s
    counter = col.get("packetcounter")
    rate = header_rate or manifest_rate
    if counter is not None and np.all(np.isfinite(counter)):
        if rate is None:
            raise BadRecording(
                f"{name} has no timestamps and no update rate; add sample_rate_hz to the manifest."
            )
        if np.any(counter < 0) or np.any(counter >= _COUNTER_WRAP):
            raise BadRecording(f"PacketCounter in {name} is outside the 16-bit counter's range.")
        return _unwrap(counter, _COUNTER_WRAP) / rate
    if broken is not None:
        empty = ~np.isfinite(col[broken])
        first = int(np.argmax(empty))
        where = "from" if np.all(empty[first:]) else "first at"
        raise BadRecording(
            f"The {broken} column of {name} is empty in {int(empty.sum())} of its {len(empty)} rows "
            f"({where} data row {first + 1}): the file was cut short or damaged; re-export it."
        )
    rate = manifest_rate or header_rate
    if broken is None and rate:  # SPEC.md: the manifest's rate times a file without a clock
        return np.arange(len(next(iter(col.values())))) / rate
    raise BadRecording(
        f"{name} has no usable time column (time_s, SampleTimeFine or PacketCounter), or it has gaps; "
        "a file without timestamps needs sample_rate_hz in the manifest."
    )


def dead_gyroscope_note(placement: str, gyr: np.ndarray, acc: np.ndarray | None, name: str) -> str | None:
    """A note for a gyroscope (n, 3) with no data in most samples beside an accelerometer (m, 3)
    that has (a gyroscope that failed or was switched off), else None. The sensor's tilt is then
    read from gravity alone (`kinematics.imu.gravity_motion`) instead of the whole set being
    refused for a sensor "with no data"."""

    def empty_share(xyz: np.ndarray) -> float:
        return float((~np.isfinite(xyz).all(axis=1)).mean()) if len(xyz) else 1.0

    dead = empty_share(gyr)
    if acc is None or dead <= MAX_MISSING_FRACTION or empty_share(acc) > MAX_MISSING_FRACTION:
        return None
    return (
        f"The {placement} sensor's gyroscope ({name}) has no data in {dead:.0%} of its samples: its "
        "tilt is read from its accelerometer alone."
    )


def check_sensor(placement: str, t: np.ndarray, channels: dict[str, np.ndarray], name: str) -> None:
    """Refuse a sensor whose clock runs backwards, that is mostly empty or whose values cannot be
    physical. Gaps (logging pauses, dropped packets) are not refused: ``align`` leaves them empty
    and only the reps that overlap them are lost."""
    check_increasing(t, where=f" in {name}", unit="sample")
    bad = np.zeros(len(t), dtype=bool)
    for key, values in channels.items():
        if key.startswith(("acc", "gyr")):
            bad |= ~np.isfinite(values)
    if bad.mean() > MAX_MISSING_FRACTION:
        last = int(np.flatnonzero(~bad)[-1]) if (~bad).any() else -1
        cut = (
            f" (none after {t[last] - t[0]:.1f} s of its {t[-1] - t[0]:.1f} s: a column cut short?)"
            if last >= 0 and bad[last + 1 :].all()
            else ""
        )
        raise BadRecording(
            f"The {placement} sensor ({name}) has no data in {bad.mean():.0%} of its samples{cut}."
        )
    for key, values in channels.items():
        limit = 2000.0 if key.startswith("acc") else 100.0 if key.startswith("gyr") else 1.5
        if np.nanmax(np.abs(values), initial=0.0) > limit:
            raise BadRecording(
                f"The {placement} sensor ({name}) reports impossible {key} values "
                f"(|{key}| > {limit:g} in SI units); check the export's units."
            )
    if all(f"acc_{a}" in channels for a in "xyz"):
        _check_gravity(placement, name, np.column_stack([channels[f"acc_{a}"] for a in "xyz"]))


def check_gyroscope_unit(sensor: SensorData) -> None:
    """Refuse a sensor's gyroscope (rad/s as read) that turns the sensor more than ``DEGREES_RATIO`` times
    further than gravity shows it tilting (`gyroscope_to_gravity_ratio`): deg/s under a rad/s
    label, which gave a 1-rep hip thrust 8 reps of noise; or less than ``RADIANS_RATIO`` times as
    far: rad/s under a deg/s label, which left the real squat sets 0-1 reps of 10. A sensor off
    the body is not refused: on a bell, a bar or a wrist in a swing the arm's pull points along the
    handle all the way round, so the sensor can turn through half a circle while its accelerometer
    hardly moves, and a bar's vibration moves gravity's direction in it with no rotation."""
    channels = sensor.channels
    if sensor.placement in OFF_BODY_PLACEMENTS or not all(
        f"{k}_{a}" in channels for k in ("acc", "gyr") for a in "xyz"
    ):
        return
    acc, gyr = (np.column_stack([channels[f"{k}_{a}"] for a in "xyz"]) for k in ("acc", "gyr"))
    ratio = gyroscope_to_gravity_ratio(sensor.t_s, acc, gyr)
    source = f" ({sensor.source})" if sensor.source else ""
    if ratio is not None and ratio > DEGREES_RATIO:
        raise BadRecording(
            f"The {sensor.placement} sensor's gyroscope{source} turns the sensor {ratio:.0f} times as far "
            "as gravity shows it tilting (about 1 in the right unit): it looks like deg/s read as "
            "rad/s. State the gyroscope's real unit in its column names (gyr_x_deg_s) or a layout file."
        )
    if ratio is not None and ratio < RADIANS_RATIO:
        raise BadRecording(
            f"The {sensor.placement} sensor's gyroscope{source} turns the sensor {1 / ratio:.0f} times less "
            "far than gravity shows it tilting (about as far in the right unit): it looks like rad/s "
            "read as deg/s. State the gyroscope's real unit in its column names (gyr_x_rad_s) or a "
            "layout file."
        )


def _check_gravity(placement: str, name: str, acc: np.ndarray) -> None:
    """Refuse an accelerometer (m/s^2) whose median magnitude is not gravity's
    (`GRAVITY_MEDIAN_G`): tilt is read from gravity, and without it every angle is noise."""
    magnitude = np.linalg.norm(acc, axis=1)
    if not np.isfinite(magnitude).any():
        return
    typical = float(np.nanmedian(magnitude)) / STANDARD_GRAVITY
    low, high = GRAVITY_MEDIAN_G
    reads = f"The {placement} sensor ({name}) reads {typical:.2g} g on average where gravity alone gives 1 g"
    # in g read as m/s^2, the magnitude sits near 1/9.81 most of the time, as gravity's does near 1;
    # gravity removed, it spreads from 0 upwards
    steady = float(np.nanpercentile(magnitude, 10)) > 0.5 * float(np.nanmedian(magnitude))
    if low / STANDARD_GRAVITY <= typical < high / STANDARD_GRAVITY and steady:
        raise BadRecording(
            f"{reads}: the values look like g read as m/s^2. State the accelerometer's unit in its "
            "column names (acc_x_g) or a layout file."
        )
    if typical < low:
        raise BadRecording(
            f"{reads}: it looks like acceleration with gravity removed (a phone's 'linear' or 'user' "
            "acceleration), from which no tilt can be measured. Export the accelerometer including "
            "gravity (raw or 'total' acceleration)."
        )
    if typical > high:
        raise BadRecording(
            f"{reads}: check the export's units (values in m/s^2 labelled g read 9.8 g, in mg labelled "
            "g 1000 g)."
        )


def sensor_files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise BadRecording("The IMU recording is neither a folder nor a file.")
    files = sorted(
        p
        for p in path.iterdir()
        if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in (".csv", ".txt", ".tsv")
    )
    if not files:
        raise BadRecording("The IMU folder holds no sensor CSV files.")
    if len(files) > MAX_SENSOR_FILES:
        raise BadRecording(
            f"The IMU folder holds more than {MAX_SENSOR_FILES} files; one per sensor is expected."
        )
    return files


MIN_SHARED_FRACTION = 0.5  # sensors must share at least this much of the longest one's span
# Clocks of separate sensor files: segments of one body turn within ~0.1 s of each other in a lift,
# so movements this much apart mean the files' clocks were started at different times.
CLOCK_OFFSET_S = 0.3
CLOCK_GRID_HZ = 20.0  # rate the turning speeds are compared at
MIN_CLOCK_MATCH = 0.4  # correlation of the turning speeds at the offset found, at least
MIN_CLOCK_GAIN = 0.15  # ... and this much above the correlation with the clocks as written
# Only sensors that clearly turn are compared (95th percentile of the gyroscope norm): a shank in
# a Romanian deadlift turns a few deg/s, and its noise lines up with anything somewhere.
CLOCK_TURNING_RAD_S = 0.6
CLOCK_ENVELOPE_S = 1.0  # the set's moving and resting, seen over this long, must agree on the offset
# Offsets that keep this share of the shorter recording overlapping: with less, a periodic set's
# reps match reps a few periods away better than the set, with its rest, matches itself.
CLOCK_OVERLAP = 0.9


def clock_offsets(sensors: list[SensorData]) -> tuple[str | None, dict[str, float]]:
    """The placement whose clock the others are lined up with (the first turning sensor), and
    the seconds to add to each other sensor file's times so that its movements line up with it,
    for files whose clocks disagree (placements whose clock agrees are left out).

    Separate loggers (one phone or logger per segment) each count time from their own start. The
    reader takes the files' times as one clock, so a thigh logger started 1.5 s after the
    lower-back one read a real squat set's hip flexion at 53-97 deg instead of 112-122, without a
    word. A body's segments turn together, so the offset is where the cross-correlation of two
    sensors' turning speeds (gyroscope norm) peaks, the way separately started IMUs are
    synchronised without a shared clock (e.g. Bannach et al., "Automatic event-based
    synchronization of multimodal data streams from wearable and ambient sensors", EuroSSC 2009).
    A set's rest before and after its reps makes the peak unique. Only sensors with a gyroscope
    that clearly turn (``CLOCK_TURNING_RAD_S``), from different files, are compared (a file's own
    sensors share its clock). An offset counts when it exceeds ``CLOCK_OFFSET_S``, matches clearly
    better than the clocks as written, and so do the speeds averaged over ``CLOCK_ENVELOPE_S``
    (when the set moves and rests, not the phase of each turn: a swing's shank and upper back
    peak 0.85 s apart), within ``CLOCK_OFFSET_S`` of the same place. With one clock, 1296
    randomised IMU recordings (seeds 0, 88 and 404, and 1200 sets of seed 5 with all seven
    sensors) had none. The 15 real squat sets with the thigh's clock 0.5-6 s off had it found in
    13 or 14 (within 0.1 s); in one set the lower back turns too unlike the thigh to tell."""
    turning = [s for s in sensors if _turns(s)]
    if len(turning) < 2:
        return None, {}
    turning.sort(key=lambda s: IMU_PLACEMENTS.index(s.placement))
    reference = turning[0]
    offsets: dict[str, float] = {}
    for sensor in turning[1:]:
        if sensor.source and sensor.source == reference.source:
            continue
        lag, match, written = _turning_lag(reference, sensor)
        if abs(lag) <= CLOCK_OFFSET_S or match < MIN_CLOCK_MATCH or match - written < MIN_CLOCK_GAIN:
            continue
        envelope, envelope_match, envelope_written = _turning_lag(reference, sensor, CLOCK_ENVELOPE_S)
        if abs(envelope - lag) <= CLOCK_OFFSET_S and envelope_match - envelope_written >= MIN_CLOCK_GAIN:
            offsets[sensor.placement] = lag
    return reference.placement, offsets


def _turning_speed(sensor: SensorData) -> np.ndarray | None:
    """The gyroscope's norm per sample (rad/s), or None without a gyroscope."""
    if not all(f"gyr_{a}" in sensor.channels for a in "xyz"):
        return None
    return np.linalg.norm(np.column_stack([sensor.channels[f"gyr_{a}"] for a in "xyz"]), axis=1)


def _turns(sensor: SensorData) -> bool:
    speed = _turning_speed(sensor)
    if speed is None:
        return False
    speed = speed[np.isfinite(speed)]
    return len(speed) > 1 and float(np.percentile(speed, 95)) >= CLOCK_TURNING_RAD_S


def _turning_lag(
    reference: SensorData, sensor: SensorData, smooth_s: float = 0.0
) -> tuple[float, float, float]:
    """(seconds to add to ``sensor``'s times, correlation there, correlation as written) of the two
    sensors' turning speeds, averaged over ``smooth_s``, over lags that keep ``CLOCK_OVERLAP`` of
    the shorter recording overlapping."""

    def speed(s: SensorData) -> tuple[float, np.ndarray]:
        grid = np.arange(s.t_s[0], s.t_s[-1], 1.0 / CLOCK_GRID_HZ)
        norm = _turning_speed(s)
        ok = np.isfinite(norm)
        values = np.interp(grid, s.t_s[ok], norm[ok]) if ok.sum() > 1 else np.zeros(len(grid))
        width = max(1, int(round(smooth_s * CLOCK_GRID_HZ)))
        return float(grid[0]), np.convolve(values, np.ones(width) / width, mode="same")

    start_a, a = speed(reference)
    start_b, b = speed(sensor)
    a, b = a - a.mean(), b - b.mean()
    if len(a) < 2 or len(b) < 2 or not a.any() or not b.any():
        return 0.0, 0.0, 0.0
    full = np.correlate(a, b, mode="full")  # index k: b shifted by k - (len(b) - 1) samples
    shifts = np.arange(-(len(b) - 1), len(a))
    overlap = np.minimum(len(a), shifts + len(b)) - np.maximum(0, shifts)
    usable = overlap >= CLOCK_OVERLAP * min(len(a), len(b))
    # normalised by the overlapping parts' energies, so a short overlap cannot win on size alone
    energy_a = np.concatenate([[0.0], np.cumsum(a * a)])
    energy_b = np.concatenate([[0.0], np.cumsum(b * b)])
    lo_a, hi_a = np.maximum(0, shifts), np.minimum(len(a), shifts + len(b))
    lo_b, hi_b = lo_a - shifts, hi_a - shifts
    scale = np.sqrt((energy_a[hi_a] - energy_a[lo_a]) * (energy_b[hi_b] - energy_b[lo_b]))
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = np.where(usable & (scale > 0), full / np.where(scale > 0, scale, 1.0), -np.inf)
    best = int(np.argmax(corr))
    # sample k of b lines up with sample k + shift of a: b's time t_b matches a's t_b + lag
    lag = (start_a + shifts[best] / CLOCK_GRID_HZ) - start_b
    written = int(np.argmin(np.abs((start_a + shifts / CLOCK_GRID_HZ) - start_b)))
    return float(lag), float(corr[best]), float(corr[written]) if np.isfinite(corr[written]) else 0.0


def align(sensors: list[SensorData]) -> tuple[np.ndarray, dict[str, dict[str, np.ndarray]]]:
    """Resample every sensor onto the fastest sensor's time axis over the span all of them cover.

    A logging gap (no sample for more than ``MAX_GAP_S``) is filled with evenly spaced empty
    samples at the fastest sensor's rate, so the time axis stays regular and the gap stays
    visible: every sensor is NaN where it has no sample within ``MAX_GAP_S``.

    Refused with a reason: sensors that share less than ``MIN_SHARED_FRACTION`` of the longest
    sensor's time (one file cut short: analysing the shared span alone lost most reps without a
    word), and a sensor whose accelerometer or gyroscope columns are empty over most of the
    shared span (a column cut short; the angles then failed on an empty sensor with an IndexError),
    and a body sensor's gyroscope in deg/s read as rad/s (`check_gyroscope_unit`).
    """
    for sensor in sensors:
        check_gyroscope_unit(sensor)
    start = max(s.t_s[0] for s in sensors)
    end = min(s.t_s[-1] for s in sensors)
    if end <= start:
        raise BadRecording(
            "The sensors' recordings do not overlap in time; were they started in the same session?"
        )
    _check_shared_span(sensors, start, end)
    # The fastest sensor's own sample times inside the shared span: no resampling of that sensor.
    reference = min(sensors, key=lambda s: float(np.median(np.diff(s.t_s))))
    t = reference.t_s[(reference.t_s >= start - 1e-9) & (reference.t_s <= end + 1e-9)]
    if len(t) < 2:
        raise BadRecording("The sensors' recordings overlap by less than two samples.")
    t = fill_gaps(t, float(np.median(np.diff(t))))
    out: dict[str, dict[str, np.ndarray]] = {}
    for s in sorted(sensors, key=lambda s: IMU_PLACEMENTS.index(s.placement)):
        missing = _in_gap(t, s.t_s)
        out[s.placement] = {
            k: np.where(missing, np.nan, np.interp(t, s.t_s, v)) for k, v in s.channels.items()
        }
        if "quat_w" in s.channels:
            q = _normalise(np.column_stack([out[s.placement][f"quat_{c}"] for c in "wxyz"]))
            for i, c in enumerate("wxyz"):
                out[s.placement][f"quat_{c}"] = q[:, i]
    _check_shared_channels(sensors, start, end, out)
    return t - t[0], out


def _check_shared_span(sensors: list[SensorData], start: float, end: float) -> None:
    first = min(s.t_s[0] for s in sensors)
    longest = max(s.t_s[-1] - s.t_s[0] for s in sensors)
    if len(sensors) < 2 or end - start >= MIN_SHARED_FRACTION * longest:
        return
    late = max(sensors, key=lambda s: s.t_s[0])
    early = min(sensors, key=lambda s: s.t_s[-1])
    limits = []
    if late.t_s[0] - first > 1e-9:
        limits.append(f"{late.named} starts at {late.t_s[0] - first:.1f} s")
    if early.t_s[-1] < max(s.t_s[-1] for s in sensors) - 1e-9:
        limits.append(f"{early.named} stops at {early.t_s[-1] - first:.1f} s")
    raise BadRecording(
        f"The sensors share only {end - start:.1f} s of the {longest:.1f} s the longest one recorded "
        f"({' and '.join(limits)}): reps are found only where every sensor has data. Re-export the "
        "short file, or move it out of the folder to analyse the other sensors."
    )


def _check_shared_channels(
    sensors: list[SensorData], start: float, end: float, aligned: dict[str, dict[str, np.ndarray]]
) -> None:
    """Refuse a sensor whose accelerometer or gyroscope is empty in most of its samples within the
    shared span (a column cut short; ``check_sensor`` judged the whole file, where the part before
    the cut can be the larger), or has no value at all there. A logging gap (samples absent, not
    empty) is not refused: only the reps over it are lost."""
    for s in sensors:
        inside = (s.t_s >= start - 1e-9) & (s.t_s <= end + 1e-9)
        for group, what in (("acc", "accelerometer"), ("gyr", "gyroscope")):
            keys = [k for k in s.channels if k.startswith(group)]
            if not keys:
                continue
            empty = np.zeros(len(s.t_s), dtype=bool)
            for key in keys:
                empty |= ~np.isfinite(s.channels[key])
            share = float(empty[inside].mean()) if inside.any() else 1.0
            usable = any(np.isfinite(aligned[s.placement][k]).sum() >= 2 for k in keys)
            if share <= MAX_MISSING_FRACTION and usable:
                continue
            stop = (
                f"; its {what} values stop at {s.t_s[~empty][-1] - s.t_s[0]:.1f} s of the file"
                if ((~empty).any() and s.t_s[~empty][-1] < end)
                else ""
            )
            raise BadRecording(
                f"{s.named[0].upper()}{s.named[1:]} has no {what} values in {share:.0%} of its samples "
                f"in the time the sensors share{stop}: the file was cut short or damaged. Re-export it, "
                "or move it out of the folder to analyse the other sensors."
            )


def _in_gap(t: np.ndarray, sample_times: np.ndarray) -> np.ndarray:
    """Times of ``t`` that fall inside a step over ``MAX_GAP_S`` of ``sample_times``."""
    i = np.clip(np.searchsorted(sample_times, t), 1, len(sample_times) - 1)
    return (
        (sample_times[i] - sample_times[i - 1] > MAX_GAP_S)
        & (t > sample_times[i - 1])
        & (t < sample_times[i])
    )


def read_imu_csv(path: Path, sample_rate_hz: float | None = None) -> RecordingRead:
    """Read an IMU folder (one file per sensor, see module docstring) into canonical IMU frames.

    A manifest ``sample_rate_hz`` that differs from the files' rate by more than 10 % quarantines
    the recording; it is also the rate used when a file has neither timestamps nor an update rate.
    """
    sensors: list[SensorData] = []
    notes: tuple[str, ...] = ()
    for f in sensor_files(path):
        if is_apdm_export(f):
            worn, left_out = apdm_sensors(_decode(f).splitlines(), f.name, sample_rate_hz)
            sensors += worn
            notes += left_out
        else:
            sensors.append(parse_sensor_file(f, sample_rate_hz))
    seen: dict[str, str] = {}
    for s in sensors:
        if s.placement in seen:
            raise BadRecording(
                f"Two sensors ({seen[s.placement]}, {s.source}) are both the {s.placement} sensor."
            )
        seen[s.placement] = s.source
    for s in sensors:
        file_rate = 1.0 / float(np.median(np.diff(s.t_s)))
        if sample_rate_hz is not None and abs(file_rate - sample_rate_hz) > RATE_TOLERANCE * sample_rate_hz:
            raise BadRecording(
                f"The {s.placement} sensor runs at {file_rate:.1f} Hz but the manifest says "
                f"{sample_rate_hz:g} Hz; check which one is right."
            )
    reference, offsets = clock_offsets(sensors)
    if offsets:
        sensors = [replace(s, t_s=s.t_s + offsets.get(s.placement, 0.0)) for s in sensors]
        notes += tuple(
            f"The {placement} sensor's clock reads {abs(lag):.2f} s {'behind' if lag > 0 else 'ahead of'} "
            f"the {reference} sensor's (their movements line up only so): its times were moved to "
            "match. Start the loggers together, or give them one clock."
            for placement, lag in offsets.items()
        )
    t, channels = align(sensors)
    return replace(
        imu_frames_from_arrays(channels, t), notes=notes + tuple(n for s in sensors for n in s.notes)
    )
