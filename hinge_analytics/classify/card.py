"""Model card (Mitchell et al., "Model Cards for Model Reporting", FAT* 2019): markdown and JSON
beside the model, with the data the model saw and its leave-athlete-out quality per model family.

The card says when its figures rest on too little data to be trusted (`trust_notes`): fewer than
``MIN_ATHLETES`` athletes, or a label with fewer than ``MIN_LABEL_REPS`` reps or seen on fewer than
``MIN_ATHLETES`` athletes. Cross-validated scores from small samples carry error bars of +-10 % and
more (Varoquaux, "Cross-validation failure: small sample sizes lead to large error bars",
NeuroImage 2018, 180:68); grouped by athlete, each held-out athlete is one draw of how people move,
so with three athletes every figure rests on three draws. A recall measured on n reps is uncertain
by about 0.5/sqrt(n) even if the reps were independent (binomial standard error), and reps of one
athlete are not.
"""

from __future__ import annotations

import json
from pathlib import Path

from hinge_analytics.classify.estimator import ESTIMATOR_NAMES
from hinge_analytics.classify.persistence import CARD_FILE, CARD_JSON

MIN_ATHLETES = 5  # also the number of leave-athlete-out folds (evaluation.OUTER_FOLDS)
MIN_LABEL_REPS = 30  # recall uncertain by about 0.5/sqrt(30) = 0.09 at best
# A breakdown row (sensor set, format, exercise) is listed from this many reps; rarer values (a
# training batch with sensors drawn at random has a hundred sets) are summed in one line, their
# figures stay in model.json.
MIN_ROW_REPS = MIN_LABEL_REPS
MAX_LISTED_SETS = 12  # the training data's sensor sets named in the card; more are counted


def _good_at_least(value: float | dict[str, float]) -> str:
    """The P(good) a good rep needs: one value (older models), or one per family and sensor set."""
    if not isinstance(value, dict):
        return f"{value:.2f}"
    return ", ".join(f"{v:.2f} (`{k}`)" for k, v in sorted(value.items()))


def _pct(x: float | None) -> str:
    return "n/a" if x is None or x != x else f"{100 * x:.1f}%"


def _summary_row(name: str, ev: dict, estimator: str = "") -> str:
    return (
        f"| {name} | {ev['n_reps']} | {ev['n_athletes']} | {ev['macro_f1']:.3f} | {_pct(ev['accuracy'])} | "
        f"{_pct(ev['sensitivity'])} | {_pct(ev['specificity'])} | {ev['brier']:.3f} | {ev['ece']:.3f} | "
        f"{estimator} |"
    )


def _evaluation_section(ev: dict) -> list[str]:
    lines = [
        "| label | precision | recall | F1 | support |",
        "|---|---|---|---|---|",
    ]
    for label in ev["labels"]:
        row = ev["per_class"].get(label, {})
        lines.append(
            f"| {label} | {row.get('precision', 0):.2f} | {row.get('recall', 0):.2f} | "
            f"{row.get('f1-score', 0):.2f} | {int(row.get('support', 0))} |"
        )
    lines += [
        "",
        "Confusion matrix (rows = truth, columns = prediction):",
        "",
        "| | " + " | ".join(ev["labels"]) + " |",
        "|---|" + "---|" * len(ev["labels"]),
    ]
    for label, counts in zip(ev["labels"], ev["confusion"], strict=True):
        lines.append(f"| **{label}** | " + " | ".join(str(c) for c in counts) + " |")
    unc = ev["uncertain"]
    lines += [
        "",
        f"Calibration: Brier score {ev['brier']:.3f}, expected calibration error {ev['ece']:.3f}. "
        f"Below {unc['threshold']:.2f} a rep is `uncertain`: {_pct(unc['fraction_uncertain'])} of reps, "
        f"accuracy on the rest {_pct(unc['accuracy_when_sure'])}.",
        "",
        "| top-label probability | reps | mean probability | accuracy |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {b['bin']} | {b['reps']} | {b['confidence']:.2f} | {b['accuracy']:.2f} |"
        for b in ev["reliability"]
    ]
    return lines


def trust_notes(data: dict) -> list[str]:
    """Why the card's figures cannot be trusted yet (empty when there are enough athletes and reps
    of every label); ``data`` is the meta's ``training_data``."""
    notes = []
    if data["athletes"] < MIN_ATHLETES:
        notes.append(
            f"only {data['athletes']} athlete{'s' if data['athletes'] != 1 else ''} (at least {MIN_ATHLETES} "
            "wanted): each figure rests on that many held-out athletes and can move by 0.1 or more when "
            "one is added or removed"
        )
    athletes = data.get("label_athletes", {})
    thin = [
        f"`{label}` ({n} reps, {athletes[label]} athletes)" if label in athletes else f"`{label}` ({n} reps)"
        for label, n in data["label_counts"].items()
        # a label on every athlete is as well covered as the data allows: the note above says the rest
        if n < MIN_LABEL_REPS or athletes.get(label, MIN_ATHLETES) < min(MIN_ATHLETES, data["athletes"])
    ]
    if thin:
        notes.append(
            f"labels with fewer than {MIN_LABEL_REPS} reps or seen on fewer than {MIN_ATHLETES} athletes: "
            + ", ".join(thin)
        )
    return notes


def _estimator_choice(candidates: list[str]) -> str:
    names = [ESTIMATOR_NAMES[c] for c in candidates]
    if len(names) == 1:
        return f"the estimator is {names[0]} (the only candidate: nothing is selected)"
    return f"the estimator is chosen by athlete-grouped cross-validation among {', '.join(names)}"


def _selection_bias(candidates: list[str]) -> str:
    """The optimism of choosing the estimator on the folds that then score it (none with one)."""
    if len(candidates) == 1:
        return ""
    return (
        " The estimator was chosen among the candidates by the same athlete-grouped folds, a small"
        f" optimistic bias with {len(candidates)} candidates."
    )


def write_card(out_dir: Path, meta: dict) -> Path:
    ev = meta["evaluation"]
    data = meta["training_data"]
    header = (
        "| model family | reps | athletes | macro-F1 | accuracy | sensitivity | specificity "
        "| Brier | ECE | estimator |"
    )
    lines = [
        f"# Model card: {meta['model_version']}",
        "",
        "Labels each hip-hinge rep `good` or one specific mistake (or the coach's own labels) from per-rep",
        "kinematic metrics (`hinge_analytics.schema.REP_METRIC_COLUMNS`, with IMU descriptors that do not",
        "depend on how a sensor was strapped on), the rep's angle curves as recorded and relative to the",
        "standing posture around it, all of them also relative to the athlete's median for the exercise",
        "that day (or standardised within that day's reps), each metric also in the spread of its exercise",
        "over the training reps (how far from that lift's usual rep), and the exercise. One scikit-learn",
        "Pipeline per model family (input modality and sensor set); "
        f"{_estimator_choice(meta['candidates'])}, and its",
        "probabilities are calibrated (CalibratedClassifierCV, folds grouped by athlete). A pose family",
        "labels a rep of a two-legged lift from the mean of its probabilities and those of its mirror image",
        "(left and right exchanged), so a clip and its mirrored copy get the same label.",
        "",
        "## Training data",
        f"- {data['reps']} reps from {data['recordings']} recordings of {data['athletes']} athletes",
        f"- exercises: {', '.join(data['exercises'])}",
        "- sensor sets (modality:sensors): "
        + (
            ", ".join(data["families"])
            if len(data["families"]) <= MAX_LISTED_SETS
            else f"{len(data['families'])} (listed in model.json)"
        ),
        f"- labels file: {data['labels_file'] or '(manifest labels)'}",
        "- label counts: " + ", ".join(f"`{k}` {v}" for k, v in data["label_counts"].items()),
        f"- pipeline version: {meta['pipeline_version']}; trained {meta['trained_at']}",
    ]
    for key, value in (meta.get("notes") or {}).items():
        lines.append(f"- {key}: {value}")
    lines += [
        "",
        "## Quality (leave-athlete-out)",
        "Every figure is on athletes the model being scored never saw (GroupKFold by athlete; calibration",
        f"is fitted inside each training fold).{_selection_bias(meta['candidates'])} No figure is computed",
        "on training reps.",
        "",
    ]
    trust = trust_notes(data)
    if trust:
        lines += [
            "**Too little data to trust these figures:** " + "; ".join(trust) + ". Treat them as a first "
            "look and label reps of more athletes before relying on them.",
            "",
        ]
    lines += [
        header,
        "|---|---|---|---|---|---|---|---|---|---|",
        _summary_row("**all reps (as predicted)**", ev),
    ]
    for key, fam in meta["families"].items():
        lines.append(_summary_row(f"`{key}`", fam["evaluation"], ESTIMATOR_NAMES.get(fam["estimator"], "")))
    lines += ["", "Sensitivity = mistakes called a mistake; specificity = good reps called good."]
    if ev.get("unscored_reps"):
        lines.append(
            f"{ev['unscored_reps']} labelled reps are not in these figures: the model that serves them "
            "was never scored on them out of fold."
        )
    lines.append("")
    for key, title, what in (
        ("by_sensor_set", "By sensor set (what a recording with these sensors gets)", "sensors"),
        ("by_format", "By input format", "format"),
        ("by_exercise", "By exercise", "exercise"),
    ):
        if not meta.get(key):
            continue
        lines += [
            f"### {title}",
            "",
            f"| {what} | served by | reps | athletes | macro-F1 | sensitivity | specificity |",
            "|---|---|---|---|---|---|---|",
        ]
        rare = []
        for value, row in meta[key].items():
            if row["n_reps"] < MIN_ROW_REPS:
                rare.append(row)
                continue
            served = row["model"].split(", ")
            by = ", ".join(f"`{m}`" for m in served) if len(served) <= 2 else f"{len(served)} families"
            lines.append(
                f"| `{value}` | {by} | {row['n_reps']} | {row['n_athletes']} | "
                f"{row['macro_f1']:.3f} | {_pct(row['sensitivity'])} | {_pct(row['specificity'])} |"
            )
        if rare:
            served = sorted({m for row in rare for m in row["model"].split(", ")})
            lines.append(
                f"| {len(rare)} others, under {MIN_ROW_REPS} reps each (figures in model.json) | "
                f"{', '.join(f'`{m}`' for m in served)} | {sum(row['n_reps'] for row in rare)} | | | | |"
            )
        lines.append("")
    lines += ["### All reps", "", *_evaluation_section(ev)]
    for key, fam in meta["families"].items():
        lines += [
            "",
            f"### Family `{key}`",
            "",
            f"{len(fam['features'])} metrics; estimator {ESTIMATOR_NAMES.get(fam['estimator'])}, "
            f"calibration {fam['calibration']}; selection macro-F1 "
            + (", ".join(f"{k} {v:.3f}" for k, v in fam["selection_macro_f1"].items()) or "n/a"),
            "",
            *_evaluation_section(fam["evaluation"]),
        ]
    lines += [
        "",
        "## Intended use and limits",
        "- Feedback for coaches on recorded sets; not a medical device and not a diagnosis.",
        "- A recording uses the family trained on its exact set of body sensors, else its modality's",
        "  pooled model, which was trained on every set.",
        "- Reps whose most probable label has a calibrated probability below the `uncertain` threshold",
        "  are reported as `uncertain` instead of guessed.",
        *(
            [
                "- A rep is called `good` only when its calibrated probability of `good` is at least "
                f"{_good_at_least(meta.get('good_at_least', 0.0))};",
                "  otherwise it gets its likeliest mistake. Each value is the one that makes the smaller",
                "  of its family's out-of-fold sensitivity and specificity largest; a sensor set the",
                "  pooled model serves gets its own where it has enough reps. The figures above were",
                "  read at thresholds set on the same folds (a small optimistic bias).",
            ]
            if "good" in meta.get("labels", [])
            else []
        ),
        "- Quality on real athletes can be lower than on the data above; retrain on your own",
        "  labelled reps with `hinge train --labels FILE`.",
    ]
    path = out_dir / CARD_FILE
    path.write_text("\n".join(lines) + "\n")
    card = {
        "model_version": meta["model_version"],
        "training_data": data,
        "trust": {"enough_data": not trust, "notes": trust},
        "evaluation": ev,
        "families": {k: {x: v for x, v in f.items() if x != "explain"} for k, f in meta["families"].items()},
    }
    (out_dir / CARD_JSON).write_text(json.dumps(card, indent=2, default=str))
    return path
