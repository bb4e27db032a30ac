"""A pinhole camera filming the athlete from the side, as a coach's phone on a tripod would.

Body frame: x forward, y up, z the athlete's right (metres). The camera stands ``distance_m`` to one
side at about hip-to-chest height and looks at the athlete; image axes follow OpenCV/OpenPose: u to
the right, v down, origin at the top-left pixel.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SideCamera:
    width: int
    height: int
    focal_px: float
    position_m: tuple[float, float, float]
    target_m: tuple[float, float, float]
    roll_deg: float = 0.0  # the phone turned about its optical axis (a tripod not levelled)

    def rotation(self) -> np.ndarray:
        """Rows: camera right, down, forward axes in body coordinates."""
        forward = np.asarray(self.target_m) - np.asarray(self.position_m)
        forward /= np.linalg.norm(forward)
        right = np.cross(forward, [0.0, 1.0, 0.0])
        right /= np.linalg.norm(right)
        down = np.cross(forward, right)
        if self.roll_deg:
            # Image axes turn about the optical axis: a level world line appears rising to the
            # right by roll_deg on screen (u right, v down), as from a tripod not levelled.
            r = np.radians(self.roll_deg)
            right, down = np.cos(r) * right + np.sin(r) * down, -np.sin(r) * right + np.cos(r) * down
        return np.stack([right, down, forward])

    def project(self, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(n, 3) body-frame points -> (n, 2) pixels and (n,) depth along the optical axis (m)."""
        cam = (p - np.asarray(self.position_m)) @ self.rotation().T
        depth = cam[:, 2]
        u = self.focal_px * cam[:, 0] / depth + self.width / 2
        v = self.focal_px * cam[:, 1] / depth + self.height / 2
        return np.column_stack([u, v]), depth


def random_side_camera(rng: np.random.Generator, supine: bool = False) -> SideCamera:
    """A landscape 1920x1080 or portrait 1080x1920 phone ~3 m to the athlete's left or right.

    Portrait framing is used only for standing exercises (a hip thrust is too long for it).
    The focal length frames ~2.6 m vertically (portrait) or ~2.4 m (landscape) at the athlete.
    """
    portrait = (not supine) and rng.random() < 0.5
    width, height = (1080, 1920) if portrait else (1920, 1080)
    distance = float(rng.uniform(2.6, 3.4))
    side = 1.0 if rng.random() < 0.5 else -1.0
    visible_m = 2.6 if portrait else 2.4
    focal = height / 2 / (visible_m / 2 / distance)
    centre_x = -0.35 if supine else 0.1
    centre_y = 0.55 if supine else 0.95
    position = (centre_x + rng.normal(0, 0.1), centre_y + rng.uniform(-0.1, 0.3), side * distance)
    target = (centre_x + rng.normal(0, 0.05), centre_y + rng.normal(0, 0.05), 0.0)
    return SideCamera(width, height, float(focal), position, target)


def framed_camera(
    points: dict[str, np.ndarray],
    side: float,
    yaw_deg: float = 0.0,
    roll_deg: float = 0.0,
    distance_m: float = 3.0,
    height_m: float | None = None,
    portrait: bool = False,
    fill: float = 0.85,
) -> SideCamera:
    """A camera on the athlete's right (``side`` +1) or left (-1), turned ``yaw_deg`` about the
    vertical towards the athlete's front (positive) or back, aimed at the middle of the movement,
    with a focal length that fits every point of ``points`` (body frame, (n, 3)) into ``fill`` of
    the frame, as a coach framing the whole set would.

    ``height_m`` None puts the lens at the target's height (no pitch: the image vertical is the
    world vertical unless ``roll_deg`` turns it).
    """
    stacked = np.concatenate([p for p in points.values()])
    stacked = stacked[np.all(np.isfinite(stacked), axis=1)]
    lo, hi = stacked.min(axis=0), stacked.max(axis=0)
    centre = (lo + hi) / 2
    target = (float(centre[0]), float(centre[1]), 0.0)
    yaw = np.radians(yaw_deg)
    position = (
        target[0] + distance_m * np.sin(yaw),
        target[1] if height_m is None else float(height_m),
        side * distance_m * np.cos(yaw),
    )
    width, height = (1080, 1920) if portrait else (1920, 1080)
    unit = SideCamera(width, height, 1.0, position, target, roll_deg)
    cam = (stacked - np.asarray(position)) @ unit.rotation().T
    u, v = cam[:, 0] / cam[:, 2], cam[:, 1] / cam[:, 2]
    focal = fill * min(width / 2 / np.abs(u).max(), height / 2 / np.abs(v).max())
    return SideCamera(width, height, float(focal), position, target, roll_deg)
