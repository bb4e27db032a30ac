"""Model card (Mitchell et al., "Model Cards for Model Reporting", FAT* 2019): markdown beside
the JSON metadata, with the data the model saw and its leave-athlete-out quality."""

from __future__ import annotations

from pathlib import Path

from hinge_analytics.classify.model import CARD_FILE


def _pct(x: float) -> str:
    return "n/a" if x != x else f"{100 * x:.1f}%"


def write_card(out_dir: Path, meta: dict) -> Path:
    ev = meta["evaluation"]
    data = meta["training_data"]
    lines = [
        f"# Model card: {meta['model_version']}",
        "",
        "Labels each hip-hinge rep `good` or one specific mistake from per-rep kinematic metrics",
        "(hinge_analytics). Gradient-boosted trees (scikit-learn `HistGradientBoostingClassifier`)",
        "over the rep metrics of `hinge_analytics.schema.REP_METRIC_COLUMNS` plus the exercise.",
        "",
        "## Training data",
        f"- {data['reps']} reps from {data['recordings']} recordings of {data['athletes']} athletes",
        f"- exercises: {', '.join(data['exercises'])}",
        f"- labels file: {data['labels_file'] or '(manifest labels)'}",
        "- label counts: " + ", ".join(f"`{k}` {v}" for k, v in data["label_counts"].items()),
        f"- pipeline version: {meta['pipeline_version']}; trained {meta['trained_at']}",
        "",
        "## Quality (leave-athlete-out)",
        f"Protocol: {ev['protocol']}. Every figure is on athletes the fold's model never saw.",
        "",
        f"- accuracy {_pct(ev['accuracy'])}, macro-F1 {ev['macro_f1']:.3f}",
        f"- good vs any mistake: sensitivity {_pct(ev['sensitivity'])}, "
        f"specificity {_pct(ev['specificity'])}",
        "",
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
    lines += [
        "",
        "## Intended use and limits",
        "- Feedback for coaches on recorded sets; not a medical device and not a diagnosis.",
        "- Reps whose most probable label has probability below the `uncertain` threshold are",
        "  reported as `uncertain` instead of guessed.",
        "- Quality on real athletes can be lower than on the data above; retrain on your own",
        "  labelled reps with `hinge train --labels FILE`.",
    ]
    path = out_dir / CARD_FILE
    path.write_text("\n".join(lines) + "\n")
    return path
