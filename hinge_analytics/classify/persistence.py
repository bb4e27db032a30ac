"""Model folders: one skops file per model family, ``model.json``, the model card.

A model is a folder: each family's fitted Pipeline as a skops file (no pickle: skops refuses any
type it was not told to trust), ``model.json`` with their SHA-256 digests, the families' features
and the leave-athlete-out evaluation, and the model card (``MODEL_CARD.md`` + ``model_card.json``).
A folder is replaced as a whole (`writing_model`), so a stopped training never leaves half a model.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import zipfile
from collections.abc import Iterator, Mapping
from pathlib import Path

import numpy as np
import skops.io as sio
from sklearn.pipeline import Pipeline
from skops.io.exceptions import UntrustedTypesFoundException

from hinge_analytics.atomic import replaced_dir
from hinge_analytics.classify.estimator import GOOD, ModelError, RepClassifier

META_FILE = "model.json"
CARD_FILE = "MODEL_CARD.md"
CARD_JSON = "model_card.json"
FORMAT_VERSION = 2
# Trusted types when loading: scikit-learn/numpy/scipy internals and our own transformers.
TRUSTED_PREFIXES = ("sklearn.", "numpy.", "scipy.")
TRUSTED_TYPES = (
    "hinge_analytics.classify.features.ExerciseReference",
    "hinge_analytics.classify.features.SessionRelative",
    "hinge_analytics.classify.features.StanceFirst",
)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def family_file(key: str) -> str:
    return (
        re.sub(r"[^A-Za-z0-9_.-]", "_", key.replace(":", "__").replace("*", "all").replace("+", "-"))
        + ".skops"
    )


def _is_model_file(path: Path) -> bool:
    return path.is_file() and (path.name in (META_FILE, CARD_FILE, CARD_JSON) or path.suffix == ".skops")


def check_model_dir(out_dir: Path) -> None:
    """ModelError unless ``out_dir`` is new, empty or a model folder: `writing_model` replaces it as
    a whole, so any other file in it would be deleted with it."""
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise ModelError(f"{out_dir} is a file, not a model folder.")
    if out_dir.is_dir():
        foreign = sorted(p.name for p in out_dir.iterdir() if not _is_model_file(p))
        if foreign:
            shown = ", ".join(foreign[:3]) + (", ..." if len(foreign) > 3 else "")
            raise ModelError(
                f"{out_dir} holds files that are not a model's ({shown}); choose a new or empty folder."
            )


@contextlib.contextmanager
def writing_model(out_dir: Path) -> Iterator[Path]:
    """A new, empty folder to write a model into; it replaces ``out_dir`` in one step when the block
    completes (`atomic.replaced_dir`). Until then, and if the block fails or the process is killed,
    ``out_dir`` keeps the previous model, loadable."""
    check_model_dir(out_dir)
    with replaced_dir(Path(out_dir)) as staging:
        yield staging


def save_model(model: RepClassifier, out_dir: Path, meta: dict) -> dict:
    """Write one skops file per family of a fitted ``model`` and model.json (``meta`` plus each
    file's SHA-256); the model version is a hash of those digests. Returns the meta as written."""
    pipelines = model.pipelines_
    out_dir.mkdir(parents=True, exist_ok=True)
    for old in out_dir.glob("*.skops"):
        old.unlink()
    meta = json.loads(json.dumps(meta, default=str))
    for key, pipeline in pipelines.items():
        name = family_file(key)
        sio.dump(pipeline, out_dir / name, compression=zipfile.ZIP_DEFLATED, compresslevel=9)
        meta["families"][key]["file"] = name
        meta["families"][key]["sha256"] = _sha256(out_dir / name)
        # the non-builtin types the file holds: load audits against this list in its one parse
        meta["families"][key]["types"] = sorted(sio.get_untrusted_types(file=out_dir / name))
    digest = hashlib.sha256(
        "".join(meta["families"][k]["sha256"] for k in sorted(pipelines)).encode()
    ).hexdigest()
    meta["model_version"] = f"rep-clf-{digest[:12]}"
    meta["format_version"] = FORMAT_VERSION
    (out_dir / META_FILE).write_text(json.dumps(meta, indent=2, default=str))
    return meta


class FamilyPipelines(Mapping[str, Pipeline]):
    """Family key -> fitted Pipeline, each parsed from its verified bytes when first asked for: a
    lake of pose recordings never pays for the IMU families (parsing all six took 0.8 s of the
    default model's 1.0 s load). The bytes were hashed and their types checked by `load_model`;
    skops refuses, while parsing, any type outside that list."""

    def __init__(self, files: dict[str, tuple[Path, bytes, list[str]]]):
        self._files = files
        self._parsed: dict[str, Pipeline] = {}

    def __getitem__(self, key: str) -> Pipeline:
        if key not in self._parsed:
            path, data, types = self._files[key]
            try:
                self._parsed[key] = sio.loads(data, trusted=types)
            except UntrustedTypesFoundException as exc:
                raise ModelError(
                    f"The model file {path} contains unexpected types ({exc}); refusing to load it."
                ) from exc
            except Exception as exc:  # a file skops cannot parse
                raise ModelError(f"The model file {path} cannot be read ({exc}).") from exc
        return self._parsed[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._files)

    def __len__(self) -> int:
        return len(self._files)


def load_model(model_dir: Path) -> RepClassifier:
    """A model whose every family file matches the SHA-256 recorded in model.json (tamper check)
    and lists only the types we expect (skops' untrusted types); each family is parsed from the
    bytes checked here when first used (`FamilyPipelines`). The `RepClassifier` it returns carries
    ``version_`` and ``meta_`` (model.json) besides its fitted families."""
    model_dir = Path(model_dir)
    meta_path = model_dir / META_FILE
    if not meta_path.is_file():
        raise ModelError(f"No model in {model_dir} (expected {META_FILE}); run `hinge train`.")
    try:
        meta = json.loads(meta_path.read_text())
    except json.JSONDecodeError as exc:
        raise ModelError(f"{meta_path} is not valid JSON.") from exc
    families = meta.get("families")
    if meta.get("format_version") != FORMAT_VERSION or not families:
        raise ModelError(
            f"The model in {model_dir} was written by another version; retrain with `hinge train`."
        )
    files = {}
    for key, fam in families.items():
        path = model_dir / Path(fam["file"]).name
        if not path.is_file():
            raise ModelError(
                f"The model in {model_dir} lacks its file {path.name}; retrain with `hinge train`."
            )
        data = path.read_bytes()
        if hashlib.sha256(data).hexdigest() != fam.get("sha256"):
            raise ModelError(
                f"The model file {path} does not match its recorded checksum: it was changed after "
                "training. Refusing to load it; retrain with `hinge train`."
            )
        untrusted = fam.get("types")
        if untrusted is None:  # a model saved before the types were recorded
            try:
                untrusted = sio.get_untrusted_types(data=data)
            except Exception as exc:  # a file skops cannot parse
                raise ModelError(f"The model file {path} cannot be read ({exc}).") from exc
        unexpected = [t for t in untrusted if not (t.startswith(TRUSTED_PREFIXES) or t in TRUSTED_TYPES)]
        if unexpected:
            raise ModelError(
                f"The model file {path} contains unexpected types {unexpected}; refusing to load it."
            )
        files[key] = (path, data, list(untrusted))
    return fitted_from_meta(FamilyPipelines(files), meta)


def fitted_from_meta(pipelines: Mapping[str, Pipeline], meta: dict) -> RepClassifier:
    """The fitted `RepClassifier` a model folder describes. ``good_at_least`` is one value per
    family, or one for all in older models; models saved before it was recorded were argmax
    models: good needed no minimum."""
    families = meta["families"]
    good_at_least = meta.get("good_at_least", 0.0)
    model = RepClassifier(
        candidates=tuple(meta.get("candidates") or ()),
        families=tuple(families),
        estimators={key: fam.get("estimator") for key, fam in families.items()},
        good_at_least=(
            {k: float(v) for k, v in good_at_least.items()}
            if isinstance(good_at_least, dict)
            else float(good_at_least)
        ),
    )
    model.pipelines_ = pipelines
    model.family_info_ = families
    labels = {str(label) for fam in families.values() for label in fam.get("labels", [])}
    model.classes_ = np.array(sorted(labels or set(meta.get("labels", [GOOD]))))
    model.version_ = meta["model_version"]
    model.meta_ = meta
    return model
