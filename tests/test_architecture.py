"""The package's shape as code: imports point one way (steps <- jobs <- flows / CLI), and the rep
classifier is a scikit-learn estimator like any other.

Steps are plain functions over tables; only jobs open a `Lake`, only `Lake` writes one.
"""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from sklearn.base import clone
from sklearn.model_selection import GroupKFold, cross_val_score
from sklearn.utils import estimator_checks

from hinge_analytics.classify.estimator import RepClassifier
from hinge_analytics.classify.features import mirrored, model_input
from hinge_analytics.jobs.train import labelled_reps

PACKAGE = Path(__file__).resolve().parents[1] / "hinge_analytics"
STEPS = ("ingest", "kinematics", "reps", "features", "classify", "analytics", "report", "pipeline.py")
# What a step may not import: the lake, the jobs that open it, the flows, Delta's writer.
LAKE_SIDE = (
    "hinge_analytics.lake",
    "hinge_analytics.jobs",
    "hinge_analytics.pipelines",
    "pipelines",
    "deltalake",
)
# What a job may not import: the flows and the CLI that call jobs.
CALLERS = ("hinge_analytics.pipelines", "pipelines", "hinge_analytics.cli")
WRITE_SQL = ("COPY ", "INSERT INTO", "ATTACH ", "EXPORT DATABASE", "CREATE TABLE")


def _modules(*names: str) -> list[Path]:
    out = []
    for name in names:
        path = PACKAGE / name
        out += sorted(path.rglob("*.py")) if path.is_dir() else [path]
    return out


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def _within(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def test_steps_never_open_or_write_a_lake():
    steps = _modules(*STEPS)
    assert len(steps) > 40  # the walk found the package
    offenders = {
        f"{path.relative_to(PACKAGE)}: {name}"
        for path in steps
        for name in _imports(path)
        if _within(name, LAKE_SIDE)
    }
    assert not offenders, f"steps importing the lake side: {sorted(offenders)}"


def test_steps_use_duckdb_in_memory_and_read_only():
    for path in _modules(*STEPS):
        tree = ast.parse(path.read_text(), str(path))
        uses_duckdb = "duckdb" in _imports(path)
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "connect"
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "duckdb"
            ):
                args = [a.value for a in node.args if isinstance(a, ast.Constant)]
                assert args == [":memory:"], f"{path.name}:{node.lineno} opens a DuckDB database file"
            if uses_duckdb and isinstance(node, ast.Constant) and isinstance(node.value, str):
                text = node.value.upper()
                assert not any(w in text for w in WRITE_SQL), f"{path.name}:{node.lineno} writes with SQL"


def test_jobs_never_import_their_callers_and_the_lake_imports_no_step():
    jobs = _modules("jobs")
    assert len(jobs) >= 6
    for path in jobs:
        assert not [n for n in _imports(path) if _within(n, CALLERS)], path.name
    lake_imports = {n for n in _imports(PACKAGE / "lake.py") if n.startswith("hinge_analytics")}
    assert lake_imports <= {
        "hinge_analytics.schema",
        "hinge_analytics.schema.TABLES",
        "hinge_analytics.schema.conform",
        "hinge_analytics.schema.empty",
    }


# ----------------------------------------------------------------------------- the estimator
# The checks of scikit-learn's suite that apply to an estimator whose input is a frame of named rep
# columns (the suite's own checks feed random numeric arrays, which carry no athlete or exercise).
PARAMETER_CHECKS = (
    "check_parameters_default_constructible",
    "check_no_attributes_set_in_init",
    "check_get_params_invariance",
    "check_set_params",
    "check_estimator_cloneable",
    "check_estimator_repr",
    "check_mixin_order",
    "check_do_not_raise_errors_in_init_or_set_params",
)


@pytest.mark.parametrize("check", PARAMETER_CHECKS)
def test_rep_classifier_passes_scikit_learns_parameter_checks(check):
    getattr(estimator_checks, check)("RepClassifier", RepClassifier())


@pytest.fixture(scope="module")
def labelled(lake, batch):
    reps = labelled_reps(lake, batch.parent / "rep_labels.csv")
    return model_input(reps), reps["train_label"].to_numpy().astype(str)


def test_rep_classifier_fits_predicts_and_clones(labelled):
    X, y = labelled
    model = RepClassifier(candidates=("logreg",))
    fitted = model.fit(X, y)
    assert fitted is model and not hasattr(clone(model), "pipelines_")  # clone is unfitted
    assert list(model.pipelines_) == ["pose:*"]
    proba = model.predict_proba(X.head(25))
    assert proba.shape == (25, len(model.classes_))
    assert np.allclose(proba.sum(1), 1.0)
    predicted = model.predict(X.head(25))
    assert predicted.shape == (25,) and set(predicted) <= set(model.classes_)
    assert model.get_params()["candidates"] == ("logreg",)
    assert model.set_params(seed=3).seed == 3


def test_a_mirrored_pose_rep_gets_the_same_probabilities(labelled):
    """A mirrored copy of a clip exchanges left and right: a pose family labels a bilateral rep
    from it and its mirror image together, so both copies get the same label."""
    X, y = labelled
    X = X.with_columns(
        side=pl.when(pl.arange(0, X.height) % 7 == 0).then(pl.lit("left")).otherwise(pl.col("side"))
    )
    model = RepClassifier(candidates=("logreg",)).fit(X, y)
    flipped = mirrored(X)
    assert not flipped.equals(X)  # the sides differ, so the inputs do
    assert np.allclose(model.predict_proba(flipped), model.predict_proba(X))
    unilateral = (X["side"] == "left").to_numpy()
    kept = [c for c in X.columns if "_left" in c]
    assert (
        flipped.filter(pl.Series(unilateral))
        .select(kept)
        .equals(X.filter(pl.Series(unilateral)).select(kept))
    )


def test_grouped_cross_validation_runs_on_the_estimator(labelled):
    X, y = labelled
    athletes = X["athlete_id"].to_numpy()
    scores = cross_val_score(
        RepClassifier(candidates=("logreg",)),
        X,
        y,
        groups=athletes,
        cv=GroupKFold(n_splits=4),
        scoring="f1_macro",
    )
    assert scores.shape == (4,) and np.isfinite(scores).all()
    # far above chance (1/6 of six labels) on athletes each fold never saw
    assert scores.mean() > 0.4


def test_rep_classifier_routes_each_rep_to_its_sensor_set(labelled):
    X, y = labelled
    model = RepClassifier(candidates=("logreg",)).fit(X, y)
    imu = X.head(2).with_columns(modality=pl.lit("imu"), sensors=pl.lit("sacrum"))
    assert list(model.route(pl.concat([X.head(1), imu]))) == ["pose:*"] * 3  # nothing else trained


def test_a_label_only_one_athlete_has_leaves_the_family_uncalibrated(labelled):
    """scikit-learn cannot calibrate decision values from a fold holding two of three labels: the
    family is fitted uncalibrated rather than failing, and the card can say so."""
    X, _ = labelled
    athletes = X["athlete_id"].to_numpy()
    y = np.where(athletes == athletes[0], "rare", np.where(np.arange(len(athletes)) % 2, "good", "bad"))
    model = RepClassifier(candidates=("hgb",)).fit(X, y)
    assert model.family_info_["pose:*"]["calibration"] is None
    assert np.allclose(model.predict_proba(X.head(10)).sum(1), 1.0)


def test_a_metric_only_one_athlete_has_does_not_break_gradient_boosting(labelled):
    """A metric measured on one athlete only is empty in the calibration folds without them, where
    HistGradientBoosting's binning fails on a column without values; those folds drop it."""
    X, y = labelled
    first = X["athlete_id"] == X["athlete_id"][0]
    X = X.with_columns(pl.when(first).then(pl.col("peak_hip_flexion_deg")).alias("peak_hip_flexion_deg"))
    model = RepClassifier(candidates=("hgb",)).fit(X, y)
    assert "peak_hip_flexion_deg" in model.family_info_["pose:*"]["features"]
    assert np.allclose(model.predict_proba(X.head(10)).sum(1), 1.0)
