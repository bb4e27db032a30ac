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


MAX_OVERLAID = 3  # exercises drawn on one pair of axes; more get a panel each (small multiples)
PANEL_COLUMNS = 3


def progress_plot(weekly: pl.DataFrame) -> str:
    """Per ISO week and exercise: share of good reps (top) and top load (bottom).

    Up to ``MAX_OVERLAID`` exercises share one pair of axes; more get a pair of panels each, on a
    grid of ``PANEL_COLUMNS`` (six lines on one chart were a tangle). Weeks flagged "too heavy,
    too soon" are ringed in red on both panels. Needs two or more weeks: one week is a table of
    numbers (`hinge_analytics.report`), not a dot on an empty axis.
    """
    groups = [
        (str(key[0]), part)
        for key, part in weekly.sort("exercise", "week").group_by(["exercise"], maintain_order=True)
    ]
    if len(groups) <= MAX_OVERLAID:
        fig, (ax_form, ax_load) = plt.subplots(2, 1, figsize=(7.5, 4.8), sharex=True)
        for i, (exercise, part) in enumerate(groups):
            _progress_lines(ax_form, ax_load, part, exercise, i)
        _progress_axes(ax_form, ax_load)
        ax_form.legend(fontsize=8, loc="best")
    else:
        columns = PANEL_COLUMNS
        rows = -(-len(groups) // columns)
        # room between rows: an exercise's title otherwise sits on the load ticks of the one above
        fig, axes = plt.subplots(
            2 * rows,
            columns,
            figsize=(9, 3.8 * rows),
            sharex=True,
            squeeze=False,
            gridspec_kw={"hspace": 0.4},
        )
        for i in range(rows * columns):
            ax_form, ax_load = (
                axes[2 * (i // columns), i % columns],
                axes[2 * (i // columns) + 1, i % columns],
            )
            if i >= len(groups):
                ax_form.set_visible(False)
                ax_load.set_visible(False)
                continue
            exercise, part = groups[i]
            _progress_lines(ax_form, ax_load, part, exercise, i)
            _progress_axes(ax_form, ax_load, labels=i % columns == 0)
            ax_form.set_title(exercise, fontsize=9)
    fig.autofmt_xdate()
    return _svg(fig)


def _progress_lines(ax_form, ax_load, part: pl.DataFrame, exercise: str, i: int) -> None:
    weeks = part["week"].to_list()
    good = [None if v is None else 100 * v for v in part["share_good"].to_list()]
    style = {"marker": MARKERS[i % len(MARKERS)], "color": SERIES_COLOURS[i % len(SERIES_COLOURS)]}
    ax_form.plot(weeks, good, label=exercise, **style)
    ax_load.plot(weeks, part["top_load_kg"].to_list(), label=exercise, **style)
    flagged = part.filter(pl.col("too_heavy_too_soon"))
    if flagged.height:
        ring = {"s": 160, "facecolors": "none", "edgecolors": "#c62828", "linewidths": 2, "zorder": 5}
        good_flagged = [None if v is None else 100 * v for v in flagged["share_good"].to_list()]
        ax_form.scatter(flagged["week"].to_list(), good_flagged, **ring)
        ax_load.scatter(flagged["week"].to_list(), flagged["top_load_kg"].to_list(), **ring)


def _progress_axes(ax_form, ax_load, labels: bool = True) -> None:
    ax_form.set_ylim(-5, 105)
    if labels:
        ax_form.set_ylabel("good reps (%)")
        ax_load.set_ylabel("top load (kg)")
    ax_load.set_xlabel("week starting")
    for ax in (ax_form, ax_load):
        ax.grid(alpha=0.3)


def sparkline(values: list[float | None], title: str, width: int = 90, height: int = 20) -> str:
    """A tiny inline SVG line of ``values`` (0..1, None = no value) for a table cell: one per
    athlete makes small multiples of a whole team, where one chart of 30 lines was a tangle.
    Written by hand (numbers only, title escaped by the caller): a matplotlib figure takes 30 ms."""
    points = [(i, v) for i, v in enumerate(values) if v is not None]
    if not points:
        return ""
    step = (width - 4) / max(len(values) - 1, 1)
    xy = [(2 + i * step, height - 2 - v * (height - 4)) for i, v in points]
    line = " ".join(f"{x:.1f},{y:.1f}" for x, y in xy)
    last_x, last_y = xy[-1]
    return (
        f"<svg class='spark' width='{width}' height='{height}' viewBox='0 0 {width} {height}' role='img'>"
        f"<title>{title}</title>"
        f"<line x1='2' y1='{height / 2:.1f}' x2='{width - 2}' y2='{height / 2:.1f}' stroke='#ddd'/>"
        + (
            f"<polyline points='{line}' fill='none' stroke='#1565c0' stroke-width='1.5'/>"
            if len(xy) > 1
            else ""
        )
        + f"<circle cx='{last_x:.1f}' cy='{last_y:.1f}' r='2.2' fill='#1565c0'/></svg>"
    )


def mistake_plot(counts: pl.DataFrame) -> str:
    """Horizontal bars: reps per label."""
    fig, ax = plt.subplots(figsize=(6, 0.4 * max(counts.height, 2) + 0.8))
    labels = [str(lab) for lab in counts["label"].to_list()]
    ax.barh(labels, counts["reps"].to_list(), color=[label_colour(lab) for lab in labels])
    ax.invert_yaxis()
    ax.set_xlabel("reps")
    ax.grid(axis="x", alpha=0.3)
    return _svg(fig)


def asymmetry_plot(sessions: pl.DataFrame, threshold_deg: float) -> str:
    """Left minus right peak angle (deg) per session for knee, hip and ankle; one marker per
    exercise; the shaded band is a difference under ``threshold_deg``, which no session outside
    it is flagged for."""
    fig, ax = plt.subplots(figsize=(7.5, 3.4))
    ax.axhspan(-threshold_deg, threshold_deg, color="#e8f5e9", zorder=0)
    ax.axhline(0, color="#9e9e9e", linewidth=0.8)
    ordered = sessions.sort("exercise", "session_date")
    for i, ((exercise,), part) in enumerate(ordered.group_by(["exercise"], maintain_order=True)):
        dates = part["session_date"].to_list()
        for metric, colour in METRIC_COLOURS.items():
            values = part[f"{metric}_diff_deg"].to_list()
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
    ax.set_ylabel("left - right (deg)")
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    fig.autofmt_xdate()
    return _svg(fig)
