"""The figure in docs/simulator.md: one good and one faulty rep per mistake (hip, knee, trunk angles).

Run ``python -m hinge_analytics.simulate.plot docs/simulator_reps.png``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from hinge_analytics.schema import LABELS
from hinge_analytics.simulate.body import Anthropometry, forward_kinematics, sagittal_tilt_deg
from hinge_analytics.simulate.motion import RepPlan, SetPlan, simulate_set


def rep_angles(exercise: str, label: str, severity: float, seed: int = 3) -> dict[str, np.ndarray]:
    """Hip flexion (mean of sides), knee flexion (left) and trunk inclination over one rep."""
    plan = SetPlan(exercise, [RepPlan(label, severity)], fidget=False, fatigue=0.0)
    time, pose, truth = simulate_set(plan, 60.0, np.random.default_rng(seed))
    p = forward_kinematics(pose, Anthropometry(1.75))
    hip_c = (p["hip_left"] + p["hip_right"]) / 2
    trunk = sagittal_tilt_deg(hip_c, (p["shoulder_left"] + p["shoulder_right"]) / 2)
    thigh = {s: sagittal_tilt_deg(p[f"knee_{s}"], p[f"hip_{s}"]) for s in ("left", "right")}
    shank = sagittal_tilt_deg(p["ankle_left"], p["knee_left"])
    inside = (time >= truth.t_start_s[0] - 0.5) & (time <= truth.t_end_s[0] + 0.8)
    return {
        "t": time[inside] - truth.t_start_s[0],
        "hip": ((trunk - thigh["left"]) + (trunk - thigh["right"]))[inside] / 2,
        "knee": (shank - thigh["left"])[inside],
        "trunk": trunk[inside],
        "thoracic": pose.thoracic_flexion[inside],
        "lumbar": pose.lumbar_flexion[inside],
    }


def plot_mistakes(path: Path, exercise: str = "romanian_deadlift") -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    mistakes = [label for label in LABELS if label != "good"]
    fig, axes = plt.subplots(1, len(mistakes), figsize=(4 * len(mistakes), 3.6), sharey=True)
    good = rep_angles(exercise, "good", 0.0)
    colours = {"hip": "tab:blue", "knee": "tab:orange", "trunk": "tab:green", "thoracic": "tab:red"}
    for ax, label in zip(axes, mistakes, strict=True):
        bad = rep_angles(exercise, label, 0.8)
        for key, colour in colours.items():
            ax.plot(good["t"], good[key], color=colour, lw=1.2, ls="--", alpha=0.7)
            ax.plot(bad["t"], bad[key], color=colour, lw=2.0, label=key)
        ax.set_title(f"{label} (severity 0.8)")
        ax.set_xlabel("time from rep start (s)")
        ax.axhline(0, color="grey", lw=0.5)
    axes[0].set_ylabel("angle (deg)")
    axes[0].legend(loc="upper right", fontsize=8, title="solid: faulty\ndashed: good", title_fontsize=8)
    fig.suptitle(f"Simulated {exercise.replace('_', ' ')}: one good rep (dashed) vs one faulty rep (solid)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


if __name__ == "__main__":  # pragma: no cover
    plot_mistakes(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/simulator_reps.png"))
