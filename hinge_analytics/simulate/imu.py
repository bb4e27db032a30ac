"""Wearable IMUs on the simulated body: orientation, specific force and angular velocity per sensor.

Physics (sensor frame S, global frame G with z up and an arbitrary heading):

- each placement rides on one body segment (``PLACEMENT_SEGMENT``); the segment's orientation is
  ``R_GB @ Rot_y(heading) @ Rot_x(roll) @ Rot_z(-tilt)`` where the tilt comes from the body model
  (forward tilt from vertical, body frame x forward, y up, z right) and ``R_GB`` maps the body
  frame to the global one (body y -> global z);
- the sensor is strapped at a fixed unknown angle: ``R_GS = R_G,segment @ R_mount`` (up to ~30 deg,
  sometimes with permuted axes);
- accelerometer = ``R_GS^T (a + g)`` with ``g = (0, 0, +9.81)``: the specific force, +9.81 m/s^2 on
  the up axis at rest (Woodman, *An introduction to inertial navigation*, Cambridge TR-696, 2007);
- gyroscope = angular velocity in the sensor frame, rad/s (deg/s in Movella DOT files);
- quaternion = ``R_GS`` as (w, x, y, z), sensor to global, as the sensor's fusion filter gives it.

Noise: white noise, a constant bias per sensor, and a slow random-walk drift on the gyroscope;
the quaternion gets a slow heading drift and small tilt noise.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from hinge_analytics.schema import BODY_PLACEMENTS
from hinge_analytics.simulate.body import Anthropometry, Pose, forward_kinematics, spine_segment_tilts

GRAVITY = 9.81
# Placement -> (segment, landmark pair whose fraction locates the sensor on it).
PLACEMENT_SEGMENT = {
    "upper_back": "thoracic",  # T2
    "lower_back": "lumbar",  # L1
    "sacrum": "pelvis",  # S1
    "thigh_left": "thigh_left",
    "thigh_right": "thigh_right",
    "shank_left": "shank_left",
    "shank_right": "shank_right",
}
# Body frame (x fwd, y up, z right) -> global (z up): x -> x, y -> z, z -> -y. Right-handed.
R_GLOBAL_BODY = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])


@dataclass
class ImuSignals:
    """One sensor's ideal (noise-free) or measured channels, every array (n, 3) or (n, 4)."""

    acc: np.ndarray  # m/s^2, sensor frame, including gravity
    gyr: np.ndarray  # rad/s, sensor frame
    quat: np.ndarray  # w, x, y, z; sensor -> global (z up)
    rotation: np.ndarray  # (n, 3, 3) sensor -> global, noise-free
    segment_tilt_deg: np.ndarray  # the segment's sagittal tilt the sensor rides on (truth)


def _rot_x(a: np.ndarray) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    o, z = np.ones_like(a), np.zeros_like(a)
    return np.stack([np.stack([o, z, z], -1), np.stack([z, c, -s], -1), np.stack([z, s, c], -1)], -2)


def _rot_y(a: np.ndarray) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    o, z = np.ones_like(a), np.zeros_like(a)
    return np.stack([np.stack([c, z, s], -1), np.stack([z, o, z], -1), np.stack([-s, z, c], -1)], -2)


def _rot_z(a: np.ndarray) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    o, z = np.ones_like(a), np.zeros_like(a)
    return np.stack([np.stack([c, -s, z], -1), np.stack([s, c, z], -1), np.stack([z, z, o], -1)], -2)


def random_mounting(
    rng: np.random.Generator, max_deg: float = 30.0, permute: bool | None = None
) -> np.ndarray:
    """A fixed segment -> sensor rotation: a random axis, up to ``max_deg``, sometimes axes permuted
    (the sensor strapped on its side or upside down)."""
    axis = rng.normal(size=3)
    axis /= np.linalg.norm(axis)
    angle = np.radians(rng.uniform(0, max_deg))
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    r = np.eye(3) + np.sin(angle) * k + (1 - np.cos(angle)) * k @ k
    if permute if permute is not None else rng.random() < 0.3:
        perm = rng.permutation(3)
        p = np.eye(3)[:, perm]
        if np.linalg.det(p) < 0:
            p[:, 0] *= -1
        r = r @ p
    return r


def rotation_to_quaternion(r: np.ndarray) -> np.ndarray:
    """(n, 3, 3) rotation matrices -> (n, 4) unit quaternions (w, x, y, z), w >= 0."""
    m = r
    tr = m[:, 0, 0] + m[:, 1, 1] + m[:, 2, 2]
    cand = np.stack(
        [
            np.stack([1 + tr, m[:, 2, 1] - m[:, 1, 2], m[:, 0, 2] - m[:, 2, 0], m[:, 1, 0] - m[:, 0, 1]], -1),
            np.stack(
                [
                    m[:, 2, 1] - m[:, 1, 2],
                    1 + 2 * m[:, 0, 0] - tr,
                    m[:, 0, 1] + m[:, 1, 0],
                    m[:, 0, 2] + m[:, 2, 0],
                ],
                -1,
            ),
            np.stack(
                [
                    m[:, 0, 2] - m[:, 2, 0],
                    m[:, 0, 1] + m[:, 1, 0],
                    1 + 2 * m[:, 1, 1] - tr,
                    m[:, 1, 2] + m[:, 2, 1],
                ],
                -1,
            ),
            np.stack(
                [
                    m[:, 1, 0] - m[:, 0, 1],
                    m[:, 0, 2] + m[:, 2, 0],
                    m[:, 1, 2] + m[:, 2, 1],
                    1 + 2 * m[:, 2, 2] - tr,
                ],
                -1,
            ),
        ],
        1,
    )  # (n, 4 candidates, 4)
    best = np.argmax(
        np.stack([1 + tr, 1 + 2 * m[:, 0, 0] - tr, 1 + 2 * m[:, 1, 1] - tr, 1 + 2 * m[:, 2, 2] - tr], 1), 1
    )
    q = cand[np.arange(len(m)), best]
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    return q * np.where(q[:, :1] < 0, -1.0, 1.0)


def segment_tilts(pose: Pose) -> dict[str, np.ndarray]:
    spine = spine_segment_tilts(pose)
    return {
        "pelvis": spine[:, 0],
        "lumbar": spine[:, 1],
        "thoracic": spine[:, 2],
        "thigh_left": pose.thigh_left,
        "thigh_right": pose.thigh_right,
        "shank_left": pose.shank_left,
        "shank_right": pose.shank_right,
    }


def _sensor_positions(points: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Where each sensor sits (body frame, before heading), on the skin over its landmark."""
    return {
        "upper_back": points["l1"] + 0.85 * (points["c7"] - points["l1"]),
        "lower_back": points["l1"],
        "sacrum": points["sacrum"],
        "thigh_left": (points["hip_left"] + points["knee_left"]) / 2,
        "thigh_right": (points["hip_right"] + points["knee_right"]) / 2,
        "shank_left": (points["knee_left"] + points["ankle_left"]) / 2,
        "shank_right": (points["knee_right"] + points["ankle_right"]) / 2,
    }


def imu_signals(
    time_s: np.ndarray,
    pose: Pose,
    body: Anthropometry,
    placements: tuple[str, ...] = BODY_PLACEMENTS,
    rng: np.random.Generator | None = None,
    mountings: dict[str, np.ndarray] | None = None,
    global_heading_deg: float = 0.0,
    noise: bool = True,
) -> dict[str, ImuSignals]:
    """Sensor channels for each placement from a simulated pose (in memory, no files).

    ``time_s`` must be uniformly sampled (the rate of the sensor). ``mountings[placement]`` is the
    segment -> sensor rotation (identity when omitted and ``rng`` is None, else random).
    With ``noise=False`` the channels are the exact physics (for tests); ``rotation`` and
    ``segment_tilt_deg`` are always the truth.
    """
    rng = rng if rng is not None else np.random.default_rng(0)
    dt = float(np.median(np.diff(time_s)))
    points = forward_kinematics(pose, body)
    positions = _sensor_positions(points)
    tilts = segment_tilts(pose)
    heading = np.radians(pose.heading_deg)
    roll = np.radians(pose.roll_deg) if pose.roll_deg is not None else np.zeros_like(heading)
    r_world = _rot_z(np.full_like(heading, np.radians(global_heading_deg))) @ R_GLOBAL_BODY
    out: dict[str, ImuSignals] = {}
    for placement in placements:
        segment = PLACEMENT_SEGMENT[placement]
        tilt = np.radians(tilts[segment])
        seg_roll = roll if segment in ("pelvis", "lumbar", "thoracic") else 0.3 * roll
        r_seg = r_world @ _rot_y(heading) @ _rot_x(seg_roll) @ _rot_z(-tilt)
        if mountings is not None and placement in mountings:
            mount = mountings[placement]
        else:
            mount = random_mounting(rng) if noise else np.eye(3)
        r_gs = r_seg @ mount
        # Angular velocity in global coordinates: sum of the chained rates (each about its own axis).
        d_heading, d_roll, d_tilt = (
            np.gradient(a, dt) for a in (heading, seg_roll * np.ones_like(tilt), tilt)
        )
        r_h = r_world @ _rot_y(heading)
        r_hr = r_h @ _rot_x(seg_roll)
        omega_g = (
            d_heading[:, None] * r_world[:, :, 1]
            + d_roll[:, None] * r_h[:, :, 0]
            - d_tilt[:, None] * r_hr[:, :, 2]
        )
        gyr = np.einsum("nji,nj->ni", r_gs, omega_g)
        # Position in global coordinates (heading applied about the body's vertical axis).
        p_body = positions[placement]
        p_g = np.einsum("nij,nj->ni", r_world @ _rot_y(heading), p_body)
        acc_g = np.gradient(np.gradient(p_g, dt, axis=0), dt, axis=0) + np.array([0.0, 0.0, GRAVITY])
        acc = np.einsum("nji,nj->ni", r_gs, acc_g)
        quat = rotation_to_quaternion(r_gs)
        if noise:
            acc, gyr, quat = _add_imu_noise(acc, gyr, r_gs, dt, rng)
        out[placement] = ImuSignals(acc, gyr, quat, r_gs, np.degrees(tilt))
    return out


def _add_imu_noise(
    acc: np.ndarray, gyr: np.ndarray, r_gs: np.ndarray, dt: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """MEMS-grade noise (Movella DOT data sheet order of magnitude): accelerometer white noise
    ~0.02 m/s^2 and bias <= 0.1 m/s^2; gyroscope white noise ~0.005 rad/s, bias <= 0.01 rad/s and a
    random-walk drift; orientation with a slow heading drift (<~2 deg/min) and ~0.3 deg tilt noise."""
    n = len(acc)
    acc = acc + rng.normal(0, 0.02, (n, 3)) + rng.uniform(-0.1, 0.1, 3)
    drift = np.cumsum(rng.normal(0, 2e-4 * np.sqrt(dt), (n, 3)), axis=0)
    gyr = gyr + rng.normal(0, 0.005, (n, 3)) + rng.uniform(-0.01, 0.01, 3) + drift
    yaw = np.radians(rng.uniform(-2, 2) / 60.0) * np.arange(n) * dt
    small = np.radians(0.3) * rng.normal(size=(n, 2))
    r_err = _rot_z(yaw) @ _rot_x(small[:, 0]) @ _rot_y(small[:, 1])
    return acc, gyr, rotation_to_quaternion(r_err @ r_gs)


# --------------------------------------------------------------------------- files
def write_imu_generic(
    folder: Path,
    time_s: np.ndarray,
    signals: dict[str, ImuSignals],
    quaternions: bool = True,
    accelerometer_only: Collection[str] = (),
    gyro_deg_s: bool = False,
    keep: dict[str, np.ndarray] | None = None,
) -> None:
    """Generic logger: ``<placement>.csv`` with ``time_s,acc_x..z,gyr_x..z,quat_w..z`` (SI, rad/s).

    Variants real loggers produce (SPEC.md ``imu_csv``): no orientation output (``quaternions``
    False), sensors without a gyroscope (``accelerometer_only`` placements), the gyroscope in deg/s
    with the unit in its column names (``Gyr_X (deg/s)``-style, ``gyro_deg_s``), and lost packets
    (``keep[placement]``: a boolean mask of the samples that arrived).
    """
    folder.mkdir(parents=True, exist_ok=True)
    for placement, s in signals.items():
        cols = {"time_s": np.round(time_s, 6)}
        for k, axis in enumerate("xyz"):
            cols[f"acc_{axis}"] = np.round(s.acc[:, k], 5)
        if placement not in accelerometer_only:
            for k, axis in enumerate("xyz"):
                if gyro_deg_s:
                    cols[f"gyr_{axis} (deg/s)"] = np.round(np.degrees(s.gyr[:, k]), 5)
                else:
                    cols[f"gyr_{axis}"] = np.round(s.gyr[:, k], 6)
        if quaternions:
            for k, axis in enumerate("wxyz"):
                cols[f"quat_{axis}"] = np.round(s.quat[:, k], 7)
        table = pl.DataFrame(cols)
        if keep is not None and placement in keep:
            table = table.filter(pl.Series(keep[placement]))
        table.write_csv(folder / f"{placement}.csv")


def write_imu_dot(
    folder: Path,
    time_s: np.ndarray,
    signals: dict[str, ImuSignals],
    rng: np.random.Generator,
    keep: dict[str, np.ndarray] | None = None,
) -> None:
    """Movella DOT app export, custom mode 5 (docs/formats.md): header lines padded with commas, then
    ``PacketCounter,SampleTimeFine,Quat_W..Z,Acc_X..Z,Gyr_X..Z``; SampleTimeFine in us as uint32
    (may wrap past 2^32), PacketCounter uint16 (wraps), Gyr in deg/s, Acc in m/s^2. ``keep[placement]``
    masks the packets that arrived (a lost packet leaves a gap in both counters)."""
    folder.mkdir(parents=True, exist_ok=True)
    n = len(time_s)
    near_wrap = rng.random() < 0.3
    t0 = int(2**32 - rng.uniform(1e6, 5e6)) if near_wrap else int(rng.uniform(1e7, 3e9))
    ticks = (t0 + np.round((time_s - time_s[0]) * 1e6).astype(np.int64)) % 2**32
    counter = (int(rng.integers(0, 65536)) + np.arange(n)) % 65536
    rate = round(1.0 / float(np.median(np.diff(time_s))))
    pad = "," * 13
    for placement, s in signals.items():
        header = [
            "sep=,",
            f"DeviceTag:,{placement}",
            "FirmwareVersion:,2.6.0",
            "AppVersion:,2023.6.0",
            "SyncStatus:,Synced",
            f"OutputRate:,{rate}Hz",
            "FilterProfile:,General",
            "Measurement Mode:,Custom Mode 5",
            "StartTime:,2026-09-07 10:15:02.123 +02:00",
            "Movella Technologies B. V. 2005-2026",
        ]
        cols = {"PacketCounter": counter, "SampleTimeFine": ticks}
        for k, axis in enumerate("WXYZ"):
            cols[f"Quat_{axis}"] = np.round(s.quat[:, k], 6)
        for k, axis in enumerate("XYZ"):
            cols[f"Acc_{axis}"] = np.round(s.acc[:, k], 6)
        for k, axis in enumerate("XYZ"):
            cols[f"Gyr_{axis}"] = np.round(np.degrees(s.gyr[:, k]), 6)
        table = pl.DataFrame(cols)
        if keep is not None and placement in keep:
            table = table.filter(pl.Series(keep[placement]))
        body = table.write_csv()
        text = "\n".join([header[0]] + [line + pad for line in header[1:]]) + "\n" + pad + "\n" + body
        (folder / f"{placement}.csv").write_text(text)
