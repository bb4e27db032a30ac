"""Static SVG plots with matplotlib (no JavaScript, no CDN: reports open offline).

Text that came from users (exercise names, label vocabulary) is escaped by matplotlib's SVG writer.
"""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import polars as pl  # noqa: E402

matplotlib.rcParams["svg.hashsalt"] = "hinge-report"  # stable element ids: reproducible pages
matplotlib.rcParams["svg.fonttype"] = "path"  # no font needed on the reader's machine

LABEL_COLOURS = {
    "good": "#2e7d32",
    "rounded_back": "#c62828",
    "lumbar_flexion": "#ad1457",
    "hyperextension": "#6a1b9a",
    "squatting": "#ef6c00",
    "hips_not_back": "#1565c0",
    "uncertain": "#9e9e9e",
    "not labelled": "#e0e0e0",
}
OTHER_COLOUR = "#607d8b"
METRIC_COLOURS = {"knee": "#c62828", "hip": "#1565c0", "ankle": "#6a1b9a"}
MARKERS = ("o", "s", "^", "D", "v", "P")
# One colour per exercise line, set explicitly: the matplotlib colour cycle is global state that
# other libraries change on import (kineticstoolkit makes red first), and reports must not depend on it.
SERIES_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b")


def label_colour(label: str | None) -> str:
    return LABEL_COLOURS.get(label or "not labelled", OTHER_COLOUR)


def _svg(fig) -> str:
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    text = buffer.getvalue()
    return text[text.index("<svg") :]  # drop the XML prolog so it can sit inline in HTML


def progress_plot(weekly: pl.DataFrame) -> str:
    """Per ISO week and exercise: share of good reps (top) and top load (bottom).

    Weeks flagged "too heavy, too soon" are ringed in red on both panels.
    """
    fig, (ax_form, ax_load) = plt.subplots(2, 1, figsize=(7.5, 4.8), sharex=True)
    for i, ((exercise,), part) in enumerate(
        weekly.sort("exercise", "week").group_by(["exercise"], maintain_order=True)
    ):
        weeks = part["week"].to_list()
        good = [None if v is None else 100 * v for v in part["share_good"].to_list()]
        style = {"marker": MARKERS[i % len(MARKERS)], "color": SERIES_COLOURS[i % len(SERIES_COLOURS)]}
        ax_form.plot(weeks, good, label=str(exercise), **style)
        ax_load.plot(weeks, part["top_load_kg"].to_list(), label=str(exercise), **style)
        flagged = part.filter(pl.col("too_heavy_too_soon"))
        if flagged.height:
            ax_form.scatter(
                flagged["week"].to_list(),
                [None if v is None else 100 * v for v in flagged["share_good"].to_list()],
                s=160,
                facecolors="none",
                edgecolors="#c62828",
                linewidths=2,
                zorder=5,
            )
            ax_load.scatter(
                flagged["week"].to_list(),
                flagged["top_load_kg"].to_list(),
                s=160,
                facecolors="none",
                edgecolors="#c62828",
                linewidths=2,
                zorder=5,
            )
    ax_form.set_ylabel("good reps (%)")
    ax_form.set_ylim(-5, 105)
    ax_load.set_ylabel("top load (kg)")
    ax_load.set_xlabel("week starting")
    ax_form.legend(fontsize=8, loc="best")
    for ax in (ax_form, ax_load):
        ax.grid(alpha=0.3)
    fig.autofmt_xdate()
    return _svg(fig)


def mistake_plot(counts: pl.DataFrame) -> str:
    """Horizontal bars: reps per label."""
    fig, ax = plt.subplots(figsize=(6, 0.4 * max(counts.height, 2) + 0.8))
    labels = [str(lab) for lab in counts["label"].to_list()]
    ax.barh(labels, counts["reps"].to_list(), color=[label_colour(lab) for lab in labels])
    ax.invert_yaxis()
    ax.set_xlabel("reps")
    ax.grid(axis="x", alpha=0.3)
    return _svg(fig)


def asymmetry_plot(sessions: pl.DataFrame, threshold_pct: float) -> str:
    """Symmetry index per session for knee, hip and ankle; one marker per exercise; the shaded band
    is |SI| <= threshold."""
    fig, ax = plt.subplots(figsize=(7.5, 3.4))
    ax.axhspan(-threshold_pct, threshold_pct, color="#e8f5e9", zorder=0)
    ax.axhline(0, color="#9e9e9e", linewidth=0.8)
    ordered = sessions.sort("exercise", "session_date")
    for i, ((exercise,), part) in enumerate(ordered.group_by(["exercise"], maintain_order=True)):
        dates = part["session_date"].to_list()
        for metric, colour in METRIC_COLOURS.items():
            values = part[f"{metric}_si_pct"].to_list()
            if all(v is None for v in values):
                continue
            ax.plot(
                dates,
                values,
                color=colour,
                marker=MARKERS[i % len(MARKERS)],
                linewidth=1.2,
                label=f"{metric} · {exercise}",
            )
    ax.set_ylabel("SI (%)  + = left larger")
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    fig.autofmt_xdate()
    return _svg(fig)
