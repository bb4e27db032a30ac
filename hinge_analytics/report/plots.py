"""Static SVG plots with matplotlib (no JavaScript, no CDN: reports open offline)."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import polars as pl  # noqa: E402

LABEL_COLOURS = {
    "good": "#2e7d32",
    "rounded_back": "#c62828",
    "lumbar_flexion": "#ad1457",
    "hyperextension": "#6a1b9a",
    "squatting": "#ef6c00",
    "hips_not_back": "#1565c0",
    "uncertain": "#9e9e9e",
}


def _svg(fig) -> str:
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight")
    plt.close(fig)
    text = buffer.getvalue()
    return text[text.index("<svg") :]  # drop the XML prolog so it can sit inline in HTML


def progress_plot(sessions: pl.DataFrame) -> str:
    """Share of good reps and top load per session date, one line per exercise."""
    fig, (ax_form, ax_load) = plt.subplots(2, 1, figsize=(7, 4.6), sharex=True)
    for (exercise,), part in sessions.sort("session_date").group_by(["exercise"], maintain_order=True):
        dates = part["session_date"].to_list()
        ax_form.plot(
            dates, [100 * (v or 0) for v in part["share_good"].to_list()], marker="o", label=exercise
        )
        ax_load.plot(dates, part["top_load_kg"].to_list(), marker="s", label=exercise)
    ax_form.set_ylabel("good reps (%)")
    ax_form.set_ylim(-5, 105)
    ax_load.set_ylabel("top load (kg)")
    ax_form.legend(fontsize=8, loc="lower left")
    ax_form.grid(alpha=0.3)
    ax_load.grid(alpha=0.3)
    fig.autofmt_xdate()
    return _svg(fig)


def mistake_plot(counts: pl.DataFrame) -> str:
    """Horizontal bars: reps per label."""
    fig, ax = plt.subplots(figsize=(6, 0.4 * max(counts.height, 2) + 0.8))
    labels = counts["label"].to_list()
    ax.barh(labels, counts["reps"].to_list(), color=[LABEL_COLOURS.get(lab, "#607d8b") for lab in labels])
    ax.invert_yaxis()
    ax.set_xlabel("reps")
    ax.grid(axis="x", alpha=0.3)
    return _svg(fig)
