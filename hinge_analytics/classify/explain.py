"""Per-rep explanations: which measured features made this rep look like its label, in coach words.

At training time `reference_profile` stores, per exercise, the median and robust spread (IQR/1.349)
of every metric over the reference reps (the `good` ones when the vocabulary has `good`, else all)
and each label's median. At predict time `explain` scores each feature by how far the rep sits
from the reference *in the direction that characterises its predicted label*, keeps the top ones
and turns them into a cue: the seed's checkpoints ("push hips back", "keep the chest up / lats
tight", "brace", "soften knees less", "don't lean back at lockout") plus the numbers behind them.
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl

CUES: dict[str, str] = {
    "good": "Good rep: keep it up.",
    "rounded_back": "Keep the chest up and the lats tight: don't let the upper back round.",
    "lumbar_flexion": "Brace before you go down and stop where the lower back starts to round.",
    "hyperextension": "Stand tall at lockout: squeeze the glutes, don't lean back.",
    "squatting": "Soften the knees less and push the hips back: it's a hinge, not a squat.",
    "hips_not_back": "Push the hips back, not bend at the waist; keep the weight on the heels.",
}

# (substring of a feature name, sign of the deviation) -> checkpoint, first match wins.
CHECKPOINTS: tuple[tuple[str, int, str], ...] = (
    ("min_trunk_inclination", -1, "don't lean back at lockout"),
    ("top_trunk_inclination", -1, "don't lean back at lockout"),
    ("min_lumbar_flexion", -1, "don't lean back at lockout"),
    ("min_hip_flexion_from_standing", -1, "don't lean back at lockout"),
    ("lumbar_flexion", 1, "brace"),
    ("thoracic_flexion", 1, "keep the chest up / lats tight"),
    ("upper_back_rounding", 1, "keep the chest up / lats tight"),
    ("shoulder_protraction", 1, "keep the chest up / lats tight"),
    ("knee_to_hip_ratio", 1, "soften knees less"),
    ("knee_flexion", 1, "soften knees less"),
    ("hip_travel", -1, "push hips back"),
    ("hip_flexion", -1, "push hips back"),
    ("trunk_inclination", 1, "push hips back"),
)
# The checkpoint of SPEC.md each mistake of the taxonomy breaks: a cue for it cites only
# measurements of that checkpoint. The model may lean on others (a lean-back rep's ankles move too),
# but "range of ankle dorsiflexion" is no reason a coach can give for a lean-back.
LABEL_CHECKPOINTS: dict[str, str] = {
    "rounded_back": "keep the chest up / lats tight",
    "lumbar_flexion": "brace",
    "hyperextension": "don't lean back at lockout",
    "squatting": "soften knees less",
    "hips_not_back": "push hips back",
}
MIN_SCORE = 1.0  # robust z-scores below this are not worth a cue


def reference_profile(reps: pl.DataFrame, labels: np.ndarray, features: list[str]) -> dict:
    """Per exercise (and ``*`` for all): reference median/spread and each label's median."""
    reference = "good" if "good" in set(labels) else None
    frame = reps.select(["exercise", *features]).with_columns(_label=pl.Series(labels))
    profiles = {}
    for exercise, part in [("*", frame), *frame.group_by("exercise")]:
        name = exercise if isinstance(exercise, str) else exercise[0]
        ref = part.filter(pl.col("_label") == reference) if reference else part
        if ref.height < 5:
            continue
        stats = {}
        for f in features:
            v = ref[f].cast(pl.Float64).drop_nulls().drop_nans().to_numpy()
            if len(v) < 5:
                continue
            q1, med, q3 = np.percentile(v, [25, 50, 75])
            stats[f] = [float(med), float(max((q3 - q1) / 1.349, 1e-3))]
        by_label = {}
        for label, group in part.group_by("_label"):
            medians = {f: group[f].cast(pl.Float64).drop_nulls().drop_nans().median() for f in stats}
            by_label[label[0]] = {f: float(m) for f, m in medians.items() if m is not None}
        profiles[name] = {"reference": stats, "labels": by_label}
    return {"reference_label": reference, "exercises": profiles}


# Evidence a coach can check by eye, by the unit at the end of the feature's name: (suffix, unit
# printed, decimals). Symmetry indices (``_pct``) are left out: a ratio to a mean near zero printed
# "si hip flexion bottom % 3.1e+02 more than a good rep", and left/right balance is its own report
# section, not the reason for a sagittal fault.
UNITS: tuple[tuple[str, str, int], ...] = (
    ("_deg", "°", 0),
    ("_leg_lengths", " leg lengths", 2),
    ("_trunk_lengths", " trunk lengths", 2),
    ("_ratio", "", 2),
    ("_s", " s", 1),
)


def _unit(feature: str) -> tuple[str, str, int] | None:
    return next((u for u in UNITS if feature.endswith(u[0])), None)


def _nice(feature: str) -> str:
    unit = _unit(feature)
    words = feature.removesuffix(unit[0]) if unit and unit[0] != "_ratio" else feature
    for prefix, word in (
        ("peak_", "peak "),
        ("bottom_", ""),
        ("range_", "range of "),
        ("min_", "lowest "),
        ("top_", "lockout "),
    ):
        if words.startswith(prefix):
            words = word + words[len(prefix) :]
            break
    return words.replace("_", " ").replace(" left", " (left)").replace(" right", " (right)").strip()


def _amount(feature: str, diff: float) -> str:
    more = "more" if diff > 0 else "less"
    _, unit, decimals = _unit(feature) or ("", "", 2)
    return f"{abs(diff):.{decimals}f}{unit} {more}"


def top_features(profile: dict, exercise: str, label: str, row: dict, k: int = 2) -> list[tuple[str, float]]:
    """The features pushing this rep towards ``label``: (feature, rep minus reference); for a mistake
    of the taxonomy only those of its checkpoint (`LABEL_CHECKPOINTS`)."""
    prof = profile["exercises"].get(exercise) or profile["exercises"].get("*")
    if not prof or label not in prof["labels"]:
        return []
    scored = []
    for f, (med, scale) in prof["reference"].items():
        x, typical = row.get(f), prof["labels"][label].get(f)
        if x is None or typical is None or not math.isfinite(x) or _unit(f) is None:
            continue
        if label in LABEL_CHECKPOINTS and checkpoint(f, x - med) != LABEL_CHECKPOINTS[label]:
            continue
        direction = (typical - med) / scale
        if abs(direction) < 0.5:  # the label does not move this feature
            continue
        z = (x - med) / scale * np.sign(direction)
        if z >= MIN_SCORE:
            scored.append((z * min(abs(direction), 3.0), f, x - med))
    scored.sort(reverse=True)
    return [(f, d) for _, f, d in scored[:k]]


def checkpoint(feature: str, diff: float) -> str | None:
    for part, sign, cue in CHECKPOINTS:
        if part in feature and np.sign(diff) == sign:
            return cue
    return None


def explain(profile: dict, exercise: str, label: str, row: dict) -> str:
    """A coaching cue for a rep predicted ``label`` (not for `uncertain` ones)."""
    if label == profile.get("reference_label"):
        return CUES.get(label, f"Looks like {label.replace('_', ' ')}.")
    feats = top_features(profile, exercise, label, row)
    reference = "a good rep" if profile.get("reference_label") else "a typical rep"
    because = "; ".join(f"{_nice(f)} {_amount(f, d)} than {reference}" for f, d in feats)
    if label in CUES:
        cue = CUES[label]
        if not because and label in LABEL_CHECKPOINTS:
            # Pose has no lumbar angle, and a mild fault can show only in the shape of the curves:
            # say so rather than give a label without a reason.
            because = "no single measurement of this checkpoint stands out; judged from the whole rep"
    else:
        checkpoints = list(dict.fromkeys(c for f, d in feats if (c := checkpoint(f, d))))
        cue = f"Looks like {label.replace('_', ' ')}" + (
            f": {', '.join(checkpoints)}." if checkpoints else "."
        )
        cue = cue[0].upper() + cue[1:]
    return f"{cue} ({because})" if because else cue
