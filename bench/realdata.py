"""Rep counts and boundaries on real recordings nobody here made (``../shared/realdata``).

Every file is read as the device wrote it, through its format or device layout (docs/formats.md),
with a manifest as a coach would write it; the manifest lives in a temporary folder and names the
read-only data folder as its batch folder, so nothing is copied. Each recording then goes through
``pipeline.process_recording`` (read -> angles -> plausibility -> reps -> metrics), the step
``hinge ingest`` runs per recording. One table per data set: expected vs found reps, boundary
errors against hand-cut windows or labelled times, refusals and notes with their reasons.

    .venv/bin/python bench/realdata.py [--data ../shared/realdata] [--only squat,metamotion,...]
        [--metamotion-repo CLONE]   # + the public MetaMotion fork's bench press, overhead press, row
        [--loggers]                 # + the IMU sets as other loggers would have written them

The data sets and what is known about them: ``../shared/realdata/README.md`` and each SOURCE.md.
Skips a data set whose folder is absent.
"""

from __future__ import annotations

import argparse
import functools
import json
import re
import tempfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl
from scipy.spatial.transform import Rotation

from hinge_analytics.classify import DEFAULT_MODEL_DIR, load_model
from hinge_analytics.ingest import read_recording
from hinge_analytics.ingest.errors import BadRecording
from hinge_analytics.ingest.manifest import read_manifest
from hinge_analytics.jobs.ingest import ingest_chunk
from hinge_analytics.jobs.predict import predict
from hinge_analytics.lake import Lake
from hinge_analytics.pipeline import process_recording

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "realdata"
MANIFEST_COLUMNS = ("recording_id", "path", "athlete_id", "session_date", "exercise", "side", "format")


@dataclass
class Case:
    """One recording: its manifest row and what is known to be true about it."""

    row: dict
    expected: int | None = None  # rep count, None when unknown
    expected_range: tuple[int, int] | None = None  # defensible counts (clips starting mid-rep)
    windows: list[tuple[float, float]] = field(default_factory=list)  # true (start, end) per rep, s
    events: list[float] = field(default_factory=list)  # a labelled time inside each true rep, s
    group: str | None = None  # recordings that are copies of one clip (must agree)
    comment: str = ""


@dataclass
class DataSet:
    name: str
    folder: str
    cases: Callable[[Path], list[Case]]
    rate_hz: float | None = None  # manifest sample_rate_hz for files without time


def _row(rid: str, path: str, athlete: str, exercise: str, fmt: str, **extra) -> dict:
    return {
        "recording_id": rid,
        "path": path,
        "athlete_id": athlete,
        "session_date": "2025-01-01",
        "exercise": exercise,
        "side": "",
        "format": fmt,
        **extra,
    }


def squat_cases(folder: Path) -> list[Case]:
    """15 bodyweight squat sets, 10 hand-windowed reps each (rep_windows/*.json: data-row indices)."""
    cases = []
    for raw in sorted(folder.glob("raw/class*/*.csv")):
        meta = folder / "rep_windows" / raw.parent.name / f"{raw.stem}_metadata.json"
        millis = pl.read_csv(raw, columns=["millis"])["millis"].to_numpy().astype(float)
        t = (millis - millis[0]) / 1000.0
        windows = [
            (float(t[w["start_sample"]]), float(t[min(w["end_sample"], len(t) - 1)]))
            for w in json.loads(meta.read_text())["windows"]
        ]
        subject = raw.stem.split("_")[0]
        rid = f"{raw.parent.name}-{raw.stem}"
        path = str(raw.relative_to(folder))
        cases.append(
            Case(_row(rid, path, subject, "squat", "esp32_mpu6050_csv"), len(windows), None, windows)
        )
    return cases


_MM = re.compile(r"^(?P<who>[A-E])-(?P<what>[a-z]+)-(?P<kind>[a-z]+)")
# The data set's lift words and a coach's names for them (generic lifts beyond the hinge).
MM_LIFTS = {
    "dead": "deadlift",
    "squat": "squat",
    "rest": "rest",
    "bench": "bench_press",
    "ohp": "overhead_press",
    "row": "bent_over_row",
}


def metamotion_cases(folder: Path, lifts: tuple[str, ...] = ("dead", "squat", "rest")) -> list[Case]:
    """Wrist MetaMotion: heavy sets 5 reps, medium 10 (the project's protocol), rest files 0.
    ``folder`` holds the CSVs in ``raw/`` (../shared/realdata) or itself (the public fork's
    ``data/raw/MetaMotion``, which also has the bench press, overhead press and row sets)."""
    cases = []
    for acc in sorted([*folder.glob("raw/*_Accelerometer_*.csv"), *folder.glob("*_Accelerometer_*.csv")]):
        m = _MM.match(acc.name)
        if m is None or m["what"] not in lifts:
            continue
        what, kind = m["what"], m["kind"]
        expected = 0 if what == "rest" else 5 if kind.startswith("heavy") else 10
        exercise = MM_LIFTS[what]
        stamp = acc.name.split("_MetaWear_")[1][11:19]  # the set's start time: one name, several sets
        rid = f"{acc.name.split('_MetaWear')[0]}-{stamp}" + ("-b" if acc.name.endswith("1.4.41.csv") else "")
        cases.append(
            Case(_row(rid, str(acc.relative_to(folder)), m["who"], exercise, "metamotion_csv"), expected)
        )
    return cases


def ktbl_cases(folder: Path) -> list[Case]:
    """Kettlebell accelerometer: labelled swing times (labels/*.lbl); snatch and jerk files hold no
    swing. ktbl_1 also holds 10 jerks before its swings, ktbl_3 and ktbl_4 unlabelled rack work
    after theirs: they are not swings either. The labels count from each file's first sample, as
    the frames' t_s does (ktbl_1 and ktbl_4 start at 2.3 and 2.5 s): every label then lies
    0.18-0.27 s after a float of the bell (|f| < 0.3 g)."""
    cases = []
    for raw in sorted(folder.glob("raw/ktbl_*.csv")):
        labels = pl.read_csv(folder / "labels" / f"{raw.stem}.lbl")
        swings = labels.filter(pl.col("label") == "swing")["time"].to_list()
        others = labels.filter(pl.col("label").is_in(["jerk", "snatch"]))["label"].value_counts()
        note = ", ".join(f"{n} {k}es" if k == "snatch" else f"{n} {k}s" for k, n in others.iter_rows())
        cases.append(
            Case(
                _row(raw.stem, str(raw.relative_to(folder)), "andy", "kettlebell_swing", "ktbl_csv"),
                len(swings),
                events=swings,
                comment=f"also {note}" if note else "",
            )
        )
    return cases


def smartlift_cases(folder: Path) -> list[Case]:
    """Side-view deadlift landmarks (pixels, y up, every 3rd frame, fps unknown: 30 assumed).
    Counts are the source's rough estimates (shoulder-height crossings, unverified); files of equal
    length are rotated/mirrored copies. deadlift_6_good_mkv opens on the lifter held at a hinge of
    about 36 deg for 2.5 s, who then stands up: the source's crossings count that ascent as a third
    rep, SPEC.md's rep (top to top) does not, so both counts are accepted."""
    rough = {
        "deadlift_1": (3, 4),
        "deadlift_2": (1, 1),
        "deadlift_3_good_MOV": (9, 11),
        "deadlift_6_good_mkv": (2, 3),
    }
    cases = []
    for csv in sorted(folder.glob("csv/*.csv")):
        n = pl.read_csv(csv, columns=["sample_idx"]).height
        key = next((k for k in rough if csv.stem.startswith(k)), None)
        cases.append(
            Case(
                _row(csv.stem, str(csv.relative_to(folder)), "smartlift", "deadlift", "smartlift_csv"),
                expected_range=rough.get(key) if key else None,
                group=f"{n} samples",
            )
        )
    return cases


def real_video_cases(folder: Path) -> list[Case]:
    """Phone/stock videos' MediaPipe landmarks (world and image), counted by eye."""
    manifest = pl.read_csv(folder / "manifest.csv", infer_schema=False)
    truth = pl.read_csv(folder / "truth_recordings.csv")
    reps = pl.read_csv(folder / "truth_reps.csv")
    cases = []
    for row in manifest.iter_rows(named=True):
        rid = row["recording_id"]
        t = truth.filter(pl.col("recording_id") == rid).row(0, named=True)
        windows = [
            (s, e)
            for s, e in reps.filter(pl.col("recording_id") == rid).select("t_start_s", "t_end_s").iter_rows()
        ]
        for kind in ("world", "image"):
            extra = {"sample_rate_hz": row["sample_rate_hz"]}
            if kind == "image":
                extra |= {"image_width": row["image_width"], "image_height": row["image_height"]}
            path = row["path"].replace("_world", f"_{kind}")
            cases.append(
                Case(
                    _row(f"{rid}-{kind}", path, row["athlete_id"], row["exercise"], "mediapipe_csv", **extra),
                    int(t["n_reps"]),
                    (int(t["n_reps_min"]), int(t["n_reps_max"])),
                    windows,
                    group=rid,
                )
            )
    return cases


def spliced_cases(folder: Path) -> list[Case]:
    """Frames of many short clips concatenated, no times (30 fps assumed): the product should say it
    cannot count reps in them, not invent some."""
    return [
        Case(
            _row(
                f"{csv.parent.name}-{csv.stem}",
                str(csv.relative_to(folder)),
                "ec",
                csv.parent.name,
                "mediapipe_csv",
            ),
            comment="spliced clips",
        )
        for csv in sorted(folder.glob("*/*.csv"))
    ]


DATA_SETS = {
    "squat": DataSet("squat IMU form sets", "squat_imu_form_dev", squat_cases),
    "metamotion": DataSet(
        "MetaMotion wrist (deadlift, squat, rest)", "metamotion_barbell_imu", metamotion_cases
    ),
    "ktbl": DataSet("kettlebell accelerometer", "ktbl_kettlebell_imu", ktbl_cases),
    "smartlift": DataSet(
        "SmartLift deadlift landmarks", "smartlift_mediapipe_deadlift", smartlift_cases, 30.0
    ),
    "real_video": DataSet("real video landmarks", "real_video_dev", real_video_cases),
    "spliced": DataSet(
        "Exercise-Correction spliced clips", "exercise_correction_mediapipe_csv", spliced_cases, 30.0
    ),
}
# Not in ../shared/realdata: read in place from a clone of the public fork named in
# metamotion_barbell_imu/SOURCE.md (``--metamotion-repo``).
MORE_LIFTS = DataSet(
    "MetaMotion wrist, lifts beyond the hinge (bench press, overhead press, row)",
    "data/raw/MetaMotion",
    functools.partial(metamotion_cases, lifts=("bench", "ohp", "row")),
)


@dataclass(frozen=True)
class Logger:
    """How another logger would have written a recording: without gyroscopes, at a lower rate
    (averaging over each output interval, as a sensor's own low-pass does), with some sensors only,
    with a stretch lost mid-set, or with every sensor strapped on at another angle."""

    gyroscope: bool = True
    rate_hz: float | None = None
    sensors: tuple[str, ...] | None = None  # placements kept (None: all)
    gap_s: float = 0.0
    # Each sensor turned in its strap: "upside down" (180 deg about its x axis) or "any" (a
    # uniformly random rotation per sensor, seeded by its placement, so every run draws the same).
    # The recording's own sensor errors turn with it, which no strap does: a chip's offset lies
    # along its own axes (the squat boards' 0.4-0.6 g), and the offset fit expects that
    # (`kinematics.imu.accelerometer_offset`), so such a board reads a little differently turned.
    mounting: str | None = None


LOGGERS = {
    "generic CSV per sensor": Logger(),
    "accelerometers only": Logger(gyroscope=False),
    "25 Hz": Logger(rate_hz=25.0),
    "12.5 Hz": Logger(rate_hz=12.5),
    "12.5 Hz, accelerometers only": Logger(gyroscope=False, rate_hz=12.5),
    "lower back only": Logger(sensors=("lower_back",)),
    "thigh only": Logger(sensors=("thigh_left",)),
    "shank only": Logger(sensors=("shank_left",)),
    "1.5 s lost mid-set": Logger(gap_s=1.5),
    "sensors upside down": Logger(mounting="upside down"),
    "sensors at any angle": Logger(mounting="any"),
    "any angle, accelerometers only": Logger(gyroscope=False, mounting="any"),
}


def mounting_rotation(mounting: str | None, placement: str) -> np.ndarray:
    """Sensor -> strap rotation of ``Logger.mounting`` for one placement (identity for None)."""
    if mounting is None:
        return np.eye(3)
    if mounting == "upside down":
        return Rotation.from_euler("x", 180.0, degrees=True).as_matrix()
    return Rotation.random(random_state=zlib.crc32(placement.encode())).as_matrix()


def imu_placements(frames: pl.DataFrame) -> set[str]:
    """The placements whose accelerometer the canonical IMU frames hold."""
    return {c.rsplit("_", 2)[0] for c in frames.columns if c.endswith("_acc_x")}


def write_as_logger(
    frames: pl.DataFrame, rate_hz: float, logger: Logger, folder: Path
) -> tuple[float, float] | None:
    """A recording's canonical IMU frames written as the generic logger (docs/formats.md: one
    ``<placement>.csv`` per sensor) would have written them under ``logger``; returns the stretch
    lost (first and last lost sample's time, s), if any."""
    keep = np.ones(frames.height, dtype=bool)
    lost = None
    if logger.gap_s:
        middle = frames.height // 2
        keep[middle : middle + int(logger.gap_s * rate_hz)] = False
        lost_t = frames["t_s"].to_numpy()[~keep]
        lost = (float(lost_t[0]), float(lost_t[-1]))
    frames = frames.filter(pl.Series(keep))
    step = max(1, round(rate_hz / logger.rate_hz)) if logger.rate_hz else 1
    if step > 1:
        block = (pl.int_range(pl.len()) // step).alias("block")
        frames = frames.drop("frame").group_by(block, maintain_order=True).mean().drop("block")
    folder.mkdir(parents=True)
    for placement in logger.sensors or sorted(imu_placements(frames)):
        recorded = ("acc", "gyr") if f"{placement}_gyr_x" in frames.columns else ("acc",)
        channels = recorded if logger.gyroscope else ("acc",)
        # A vector v in the strap's frame reads R^T v in a sensor turned by R.
        turn = mounting_rotation(logger.mounting, placement)
        out = {"time_s": frames["t_s"]}
        for kind in channels:
            v = frames.select(f"{placement}_{kind}_{axis}" for axis in "xyz").to_numpy() @ turn
            out |= {f"{kind}_{axis}": v[:, k] for k, axis in enumerate("xyz")}
        pl.DataFrame(out).write_csv(folder / f"{placement}.csv")
    return lost


IMU_SETS = ("squat", "metamotion", "ktbl")


def logger_table(data: Path, loggers: dict[str, Logger] = LOGGERS, key: str = "squat") -> pl.DataFrame | None:
    """An IMU data set read as the device wrote it, re-written per ``loggers``, counted
    (`_as_logger`). A logger that keeps named sensors applies to the sets that have them, and a
    stretch lost only to sets with hand windows (which tell the reps it cuts into)."""
    spec = DATA_SETS[key]
    folder = data / spec.folder
    if not folder.is_dir():
        return None
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for k, case in enumerate(spec.cases(folder)):
            _, read = read_recording(folder / case.row["path"], case.row["format"], None)
            present = imu_placements(read.frames)
            for j, (name, logger) in enumerate(loggers.items()):
                if not set(logger.sensors or ()) <= present or (logger.gap_s and not case.windows):
                    continue
                folder_out = Path(tmp) / f"set{k}-logger{j}"
                rows.append(
                    {"logger": name, **_as_logger(case, read.frames, read.sample_rate_hz, logger, folder_out)}
                )
    return (
        pl.DataFrame(rows, infer_schema_length=None)
        .group_by("logger", maintain_order=True)
        .agg(
            sets=pl.len(),
            exact=(pl.col("off") == 0).sum(),
            within_1=(pl.col("off").abs() <= 1).sum(),
            refused=pl.col("found").is_null().sum(),
            median_boundary_err_s=pl.col("error").median(),
            counts_found=pl.col("found").sort().cast(pl.String).str.join(" "),
        )
    )


def _as_logger(case: Case, frames: pl.DataFrame, rate_hz: float, logger: Logger, folder: Path) -> dict:
    """One set written as ``logger`` into ``folder`` and processed: reps ``found``, how many more
    or fewer than expected (``off``), the median boundary error of a right count. Where a stretch is
    lost, the reps expected are the hand windows clear of it (a gap loses only the reps it cuts
    into). A window it cuts into may count either way when its middle, where the rep turns, is
    clear of the stretch: segmentation keeps a rep whose data holds its turn and half its way
    back (`reps.segmentation`, "Gaps"), which the hand-cut window alone cannot tell."""
    lost = write_as_logger(frames, rate_hz, logger, folder)
    overlap = [0.0 if lost is None else min(e, lost[1]) - max(s, lost[0]) for s, e in case.windows]
    windows = [w for w, o in zip(case.windows, overlap, strict=True) if o <= 0]
    grazing = sum(
        o > 0 and not lost[0] <= (s + e) / 2 <= lost[1]
        for (s, e), o in zip(case.windows, overlap, strict=True)
    )
    manifest = folder.parent / f"{folder.name}.csv"
    pl.DataFrame([{**case.row, "path": folder.name, "format": "imu_csv"}]).write_csv(manifest)
    (row,), _ = read_manifest(manifest)
    try:
        reps = process_recording(row).reps
    except BadRecording as exc:
        return {"found": None, "refused": str(exc)}
    fewest = len(windows) if case.windows else case.expected
    most = fewest + grazing
    off = reps.height - fewest if reps.height < fewest else max(reps.height - most, 0)
    offsets = np.abs(boundary_offsets(reps, windows)).ravel() if off == 0 else []
    return {"found": reps.height, "off": off, "error": float(np.median(offsets)) if len(offsets) else None}


def boundary_offsets(found: pl.DataFrame, windows: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """(start, end) offsets (s, found minus true) of each true window against the found rep
    overlapping it most."""
    offsets: list[tuple[float, float]] = []
    if found.height == 0:
        return offsets
    starts, ends = found["t_start_s"].to_numpy(), found["t_end_s"].to_numpy()
    for s, e in windows:
        overlap = np.minimum(ends, e) - np.maximum(starts, s)
        k = int(np.argmax(overlap))
        if overlap[k] > 0:
            offsets.append((float(starts[k] - s), float(ends[k] - e)))
    return offsets


def events_hit(found: pl.DataFrame, events: list[float], tolerance_s: float = 0.5) -> int:
    """Labelled events that fall inside a found rep (widened by ``tolerance_s``), one rep each."""
    used: set[int] = set()
    for time in events:
        for k, (s, e) in enumerate(found.select("t_start_s", "t_end_s").iter_rows()):
            if k not in used and s - tolerance_s <= time <= e + tolerance_s:
                used.add(k)
                break
    return len(used)


def write_manifest(spec: DataSet, cases: list[Case], path: Path) -> Path:
    """The cases' manifest as `hinge ingest` reads it: every manifest column, each case's values,
    and the data set's rate for files that carry no time."""
    rows = [{**dict.fromkeys(MANIFEST_COLUMNS, ""), **c.row} for c in cases]
    if spec.rate_hz:
        rows = [{"sample_rate_hz": spec.rate_hz, **r} for r in rows]
    pl.DataFrame(rows, infer_schema_length=None).write_csv(path)
    return path


def swap_sides(name: str) -> str:
    """A landmark's (or column's) name for the other side: what a mirrored picture's estimator calls it."""
    return name.replace("left", "@").replace("right", "left").replace("@", "right")


def ingest_and_label(
    manifest: Path, batch_dir: Path | None, root: Path
) -> tuple[pl.DataFrame, dict[str, str]]:
    """The manifest's recordings through ``hinge ingest``'s chunk step into a lake in ``root``, every
    rep labelled by the shipped model: per recording that has reps, how many (``found``) and their
    labels in order (``labels``, space-separated); and each refused recording's reason."""
    valid, rejected = read_manifest(manifest, batch_dir=batch_dir)
    lake = Lake(root / "lake")
    lake.create()
    summary = ingest_chunk(lake, valid)
    predict(lake, load_model(DEFAULT_MODEL_DIR), all_reps=True)
    reps = lake.read("reps", ["recording_id", "rep"]).join(
        lake.read("predictions", ["recording_id", "rep", "label"]), on=["recording_id", "rep"], how="left"
    )
    found = (
        reps.sort("recording_id", "rep")
        .group_by("recording_id", maintain_order=True)
        .agg(found=pl.len(), labels=pl.col("label").fill_null("-").str.join(" "))
    )
    return found, {r.recording_id: r.reason for r in rejected} | dict(summary.quarantined)


def run_data_set(data: Path, spec: DataSet) -> pl.DataFrame | None:
    folder = data / spec.folder
    if not folder.is_dir():
        return None
    cases = spec.cases(folder)
    with tempfile.TemporaryDirectory() as tmp:
        manifest = write_manifest(spec, cases, Path(tmp) / "manifest.csv")
        valid, rejected = read_manifest(manifest, batch_dir=folder)
    by_id = {r.recording_id: r for r in valid}
    refused = {r.recording_id: r.reason for r in rejected}
    out = []
    for case in cases:
        rid = case.row["recording_id"]
        result = {"recording_id": rid, "expected": case.expected, "found": None, "group": case.group}
        try:
            if rid in refused:
                raise BadRecording(refused[rid])
            done = process_recording(by_id[rid])
            reps = done.reps
            result |= {"found": reps.height, "status": "ok", "reason": done.note or case.comment}
            offsets = np.array(boundary_offsets(reps, case.windows)).reshape(-1, 2)
            if len(offsets):
                result["median_boundary_err_s"] = float(np.median(np.abs(offsets)))
                # Signed: a negative start is found before the hand window opens.
                result["start_offset_s"], result["end_offset_s"] = np.median(offsets, axis=0).tolist()
            if case.events:
                result["events_hit"] = f"{events_hit(reps, case.events)}/{len(case.events)}"
        except BadRecording as exc:
            internal = "please report" in str(exc)
            result |= {"status": "INTERNAL ERROR" if internal else "refused", "reason": str(exc)}
        lo, hi = case.expected_range or ((case.expected,) * 2 if case.expected is not None else (None, None))
        result["count_ok"] = None if lo is None or result["found"] is None else lo <= result["found"] <= hi
        out.append(result)
    return pl.DataFrame(out, infer_schema_length=None)


def summary(name: str, table: pl.DataFrame) -> str:
    known = table.filter(pl.col("count_ok").is_not_null())
    exact = int(known["count_ok"].sum()) if known.height else 0
    parts = [f"{name}: {exact}/{known.height} counts right"]
    if "median_boundary_err_s" in table.columns and table["median_boundary_err_s"].drop_nulls().len():
        parts.append(
            f"median boundary error {table['median_boundary_err_s'].drop_nulls().median():.2f} s (starts "
            f"{table['start_offset_s'].drop_nulls().median():+.2f} s, ends "
            f"{table['end_offset_s'].drop_nulls().median():+.2f} s from the hand windows)"
        )
    if table["group"].drop_nulls().len():
        groups = table.filter(pl.col("found").is_not_null()).group_by("group").agg(pl.col("found").n_unique())
        parts.append(f"copies agree in {int((groups['found'] == 1).sum())}/{groups.height} groups")
    refused = int((table["status"] == "refused").sum())
    internal = int((table["status"] == "INTERNAL ERROR").sum())
    parts.append(f"{refused} refused, {internal} internal errors")
    return "; ".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--only", default=",".join(DATA_SETS), help="comma-separated data sets")
    parser.add_argument(
        "--metamotion-repo",
        type=Path,
        help="a clone of github.com/SebastianGarrido2790/Tracking-Barbell-Exercises-ML-Project: adds "
        "its bench press, overhead press and row sets",
    )
    parser.add_argument(
        "--loggers", action="store_true", help="also count the IMU sets as other loggers would write them"
    )
    args = parser.parse_args()
    runs = [(DATA_SETS[key], args.data) for key in args.only.split(",")]
    if args.metamotion_repo is not None:
        runs.append((MORE_LIFTS, args.metamotion_repo))
    with pl.Config(
        tbl_rows=200, tbl_cols=12, fmt_str_lengths=90, tbl_width_chars=230, tbl_hide_dataframe_shape=True
    ):
        for spec, data in runs:
            table = run_data_set(data, spec)
            if table is None:
                print(f"{spec.name}: {data / spec.folder} is absent, skipped\n")
                continue
            print(summary(spec.name, table))
            print(table.drop("group") if table["group"].drop_nulls().len() == 0 else table)
            print()
        if args.loggers:
            for key in IMU_SETS:
                loggers = logger_table(args.data, key=key)
                print(f"{DATA_SETS[key].name}, re-written as other loggers would have written them:")
                print(loggers if loggers is not None else "absent, skipped")


if __name__ == "__main__":
    main()
