"""Real pose recordings as another phone, camera or estimator would have given them: do the count and
each rep's label hold?

The real landmark files of ``../shared/realdata`` (``real_video_dev``: MediaPipe world and image
landmarks of three videos counted by eye; SmartLift: the four distinct deadlift clips, pixels with y
up) are each re-written as a physically possible other recording of the same movement:

- ``mirrored``: the picture flipped left-right (a front camera, or the athlete facing the other
  way); the estimator then names the other side left, so the sides are exchanged too;
- ``rolled +8`` / ``rolled -8``: the phone held 8 deg off level (about the picture's centre; world
  landmarks, whose axes are the camera's, about the lens axis);
- ``every 2nd frame``: half the frame rate;
- ``10 % frames dropped``: frames missing at random (a phone's drops, a detector's misses);
- ``noisier estimator``: white jitter of 0.6 % of the athlete's height on every landmark and axis
  (about 1 cm, a lighter estimator model);
- ``1.5x slower`` / ``2x faster``: the same movement at two thirds / twice its speed;
- ``turned 60`` / ``turned 90``: the camera 60 or 90 deg further round the athlete (90: from the
  front or back when the video is a side view), for MediaPipe world landmarks, whose depth is
  metric: the body turned about the vertical through the hips' centre; ``..., pictured``: the
  same seen by a level portrait phone (1080 x 1920, orthographic, 2.4 m of height in the
  picture), written as normalised image landmarks. The image files' own z is too rough a depth
  to turn (turned 90 deg, it made rv13's athlete jump across the picture).

Each version goes through ``hinge ingest``'s chunk step as its own athlete (in one athlete's day
the versions would be each other's session context), and the shipped model labels every rep. A
version must give the count the eye gave (or the source's range) and, where the original's count
is right, the original's label at every rep. The changes are drawn once, from fixed seeds: the
files are read in place and the versions live in a temporary folder (licences).

    .venv/bin/python bench/real_variants.py [--data ../shared/realdata]   (about 1 min)
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent))
from realdata import DATA_SETS, DEFAULT_DATA, Case, ingest_and_label, swap_sides, write_manifest  # noqa: E402

ROLL_DEG = 8.0
JITTER_OF_HEIGHT = 0.006
DROPPED = 0.10
SLOWER = 1.5
FASTER = 2.0  # a touch-and-go pace
TURNED_DEG = (60.0, 90.0)
PICTURE = (1080, 1920)  # a portrait phone video's width and height, pixels
PICTURE_HEIGHT_M = 2.4  # of the scene, top to bottom of the picture


@dataclass(frozen=True)
class Plane:
    """Where a file keeps its landmark coordinates: the x and y column of each landmark, the
    time column, the factors that turn x and y into one square unit (pixels or metres), and the
    kind of plane: a normalised picture, a picture in pixels of unknown size, or world metres."""

    x: dict[str, str]  # landmark -> column
    y: dict[str, str]
    time: str
    kind: str  # "image", "pixels" or "world"
    x_unit: float = 1.0
    y_unit: float = 1.0
    z: dict[str, str] | None = None  # depth, in x's unit; None where the file keeps none

    def centre(self, x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
        """Where a camera's roll turns the plane about: the picture's centre (the athlete's, when
        the picture's size is unknown); world landmarks about their origin, between the hips."""
        if self.kind == "image":
            return self.x_unit / 2, self.y_unit / 2
        if self.kind == "pixels":
            return float(np.nanmean(x)), float(np.nanmean(y))
        return 0.0, 0.0


Change = Callable[[pl.DataFrame, Plane, np.random.Generator], pl.DataFrame | None]  # None: does not apply


def plane(table: pl.DataFrame, row: dict) -> Plane:
    """The coordinate columns of a MediaPipe CSV (normalised image or world metres) or a SmartLift
    CSV (pixels, y up): docs/formats.md and the smartlift_csv layout."""
    if "video_frame" in table.columns:
        names = [c.removesuffix("_x_px") for c in table.columns if c.endswith("_x_px")]
        return Plane(
            {n: f"{n}_x_px" for n in names}, {n: f"{n}_y_px_up" for n in names}, "video_frame", "pixels"
        )
    names = [c.removesuffix("_visibility") for c in table.columns if c.endswith("_visibility")]
    image = bool(row.get("image_width"))
    return Plane(
        {n: f"{n}_x" for n in names},
        {n: f"{n}_y" for n in names},
        "timestamp_ms",
        "image" if image else "world",
        float(row["image_width"]) if image else 1.0,
        float(row["image_height"]) if image else 1.0,
        {n: f"{n}_z" for n in names} if all(f"{n}_z" in table.columns for n in names) else None,
    )


def _xy(table: pl.DataFrame, p: Plane) -> tuple[np.ndarray, np.ndarray]:
    x = table.select(p.x.values()).cast(pl.Float64).to_numpy() * p.x_unit
    y = table.select(p.y.values()).cast(pl.Float64).to_numpy() * p.y_unit
    return x, y


def _with_xy(table: pl.DataFrame, p: Plane, x: np.ndarray, y: np.ndarray) -> pl.DataFrame:
    columns = {c: x[:, k] / p.x_unit for k, c in enumerate(p.x.values())}
    columns |= {c: y[:, k] / p.y_unit for k, c in enumerate(p.y.values())}
    return table.with_columns(pl.Series(c, v) for c, v in columns.items())


def mirrored(table: pl.DataFrame, p: Plane, rng: np.random.Generator) -> pl.DataFrame:
    x, y = _xy(table, p)
    flipped = _with_xy(table, p, np.nanmax(x) + np.nanmin(x) - x, y)
    return flipped.rename({c: swap_sides(c) for c in flipped.columns})


def rolled(degrees: float) -> Change:
    def turn(table: pl.DataFrame, p: Plane, rng: np.random.Generator) -> pl.DataFrame:
        x, y = _xy(table, p)
        cx, cy = p.centre(x, y)
        c, s = np.cos(np.radians(degrees)), np.sin(np.radians(degrees))
        dx, dy = x - cx, y - cy
        return _with_xy(table, p, cx + c * dx - s * dy, cy + s * dx + c * dy)

    return turn


def turned(degrees: float, pictured: bool = False) -> Change:
    """World landmarks turned ``degrees`` about the vertical through the hips' centre (x and depth
    turn, height stays), and with ``pictured`` their picture as `PICTURE` frames it; None for any
    other file."""

    def turn(table: pl.DataFrame, p: Plane, rng: np.random.Generator) -> pl.DataFrame | None:
        if p.kind != "world" or p.z is None:
            return None
        x, y = _xy(table, p)
        z = table.select(p.z.values()).cast(pl.Float64).to_numpy()
        c, s = np.cos(np.radians(degrees)), np.sin(np.radians(degrees))
        x, z = c * x + s * z, -s * x + c * z  # world landmarks' origin is the hips' centre
        if pictured:
            width, height = PICTURE
            metres = PICTURE_HEIGHT_M
            x, y, z = 0.5 + x * height / (metres * width), 0.5 + y / metres, z * height / (metres * width)
        columns = {col: x[:, k] for k, col in enumerate(p.x.values())}
        columns |= {col: y[:, k] for k, col in enumerate(p.y.values())}
        columns |= {col: z[:, k] for k, col in enumerate(p.z.values())}
        return table.with_columns(pl.Series(col, v) for col, v in columns.items())

    return turn


def every_second(table: pl.DataFrame, p: Plane, rng: np.random.Generator) -> pl.DataFrame:
    return table.gather_every(2)


def dropped(table: pl.DataFrame, p: Plane, rng: np.random.Generator) -> pl.DataFrame:
    return table.filter(pl.Series(rng.random(table.height) >= DROPPED))


def noisier(table: pl.DataFrame, p: Plane, rng: np.random.Generator) -> pl.DataFrame:
    x, y = _xy(table, p)
    height = np.nanpercentile(y, 99) - np.nanpercentile(y, 1)  # the athlete's extent, standing
    sd = JITTER_OF_HEIGHT * height
    return _with_xy(table, p, x + rng.normal(0, sd, x.shape), y + rng.normal(0, sd, y.shape))


def stretched(factor: float) -> Change:
    """Time ``factor`` times as long: the same movement slower (over 1) or faster."""

    def stretch(table: pl.DataFrame, p: Plane, rng: np.random.Generator) -> pl.DataFrame:
        if p.kind == "pixels":  # whole video frames: the video's frame rate changes instead (below)
            return table
        return table.with_columns(pl.col(p.time).cast(pl.Float64) * factor)

    return stretch


@dataclass(frozen=True)
class Variant:
    change: Change
    # The manifest's rate is the rows' rate where the file keeps times, and stays the video's
    # frame rate where it keeps frame numbers (SmartLift): a version that changes either says so.
    rate_factor: float = 1.0
    video_rate_factor: float = 1.0
    image_size: tuple[int, int] | None = None  # a version written as a picture of this size


VARIANTS = {
    "as recorded": Variant(lambda table, p, rng: table),
    "mirrored": Variant(mirrored),
    f"rolled +{ROLL_DEG:g}": Variant(rolled(ROLL_DEG)),
    f"rolled -{ROLL_DEG:g}": Variant(rolled(-ROLL_DEG)),
    "every 2nd frame": Variant(every_second, rate_factor=0.5),
    f"{DROPPED:.0%} frames dropped": Variant(dropped),
    "noisier estimator": Variant(noisier),
    f"{SLOWER:g}x slower": Variant(stretched(SLOWER), 1 / SLOWER, 1 / SLOWER),
    f"{FASTER:g}x faster": Variant(stretched(1 / FASTER), FASTER, FASTER),
    **{f"turned {a:g}": Variant(turned(a)) for a in TURNED_DEG},
    **{f"turned {a:g}, pictured": Variant(turned(a, pictured=True), image_size=PICTURE) for a in TURNED_DEG},
}


def cases(data: Path) -> list[tuple[Case, float | None]]:
    """Real video landmarks and the distinct SmartLift clips, with each set's manifest rate."""
    out = []
    for key, only in (("real_video", None), ("smartlift", ("_1_", "_2_", "_3_good_MOV", "_6_good_mkv"))):
        spec = DATA_SETS[key]
        folder = data / spec.folder
        if folder.is_dir():
            for case in spec.cases(folder):
                if only is None or any(k in case.row["recording_id"] for k in only):
                    case.row["path"] = str(folder / case.row["path"])
                    out.append((case, spec.rate_hz))
    return out


def versions(data: Path, root: Path) -> tuple[list[dict], dict[str, tuple[str, str, Case]]]:
    """Every case written as every variant into ``root``: manifest rows and, per recording id, its
    (original recording id, variant, case)."""
    rows, known = [], {}
    for case, rate in cases(data):
        source = Path(case.row["path"])
        table = pl.read_csv(source, infer_schema_length=None)
        base = case.row["recording_id"]
        where = plane(table, case.row)
        for k, (name, variant) in enumerate(VARIANTS.items()):
            rng = np.random.default_rng(zlib.crc32(f"{base}/{name}".encode()))
            rid = f"{base}~{k}"
            out = root / f"{rid}{source.suffix}"
            changed = variant.change(table, where, rng)
            if changed is None:
                continue
            changed.write_csv(out)
            row = {**case.row, "recording_id": rid, "athlete_id": rid, "path": out.name}
            if variant.image_size:
                row["image_width"], row["image_height"] = variant.image_size
            factor = variant.video_rate_factor if where.kind == "pixels" else variant.rate_factor
            row["sample_rate_hz"] = float(row.get("sample_rate_hz") or rate) * factor
            rows.append(row)
            known[rid] = (base, name, case)
    return rows, known


def run(data: Path) -> pl.DataFrame | None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        rows, known = versions(data, root)
        if not rows:
            return None
        manifest = write_manifest(DATA_SETS["real_video"], [Case(r) for r in rows], root / "manifest.csv")
        found, refused = ingest_and_label(manifest, root, root)
    table = pl.DataFrame(
        [
            {
                "recording_id": rid,
                "clip": base,
                "variant": name,
                "low": (case.expected_range or (case.expected, case.expected))[0],
                "high": (case.expected_range or (case.expected, case.expected))[1],
                "refused": refused.get(rid),
            }
            for rid, (base, name, case) in known.items()
        ]
    ).join(found, on="recording_id", how="left")
    original = table.filter(pl.col("variant") == "as recorded").select(
        "clip", original_found="found", original_labels="labels"
    )
    return (
        table.join(original, on="clip")
        .with_columns(
            found=pl.col("found").fill_null(0),
            count_ok=pl.col("found").fill_null(0).is_between(pl.col("low"), pl.col("high")),
            same_labels=pl.when(pl.col("found") == pl.col("original_found")).then(
                pl.col("labels") == pl.col("original_labels")
            ),
        )
        .sort("clip", "recording_id")
    )


def label_changes(table: pl.DataFrame) -> tuple[int, int, int]:
    """(reps compared, reps whose label moved to or from `uncertain`, reps given another definite
    label) against the original at the same position, where the counts are equal."""
    same = table.filter(pl.col("same_labels").is_not_null())
    compared = uncertain = flipped = 0
    for ours, theirs in zip(
        same["labels"].str.split(" "), same["original_labels"].str.split(" "), strict=True
    ):
        for a, b in zip(ours, theirs, strict=True):
            compared += 1
            if a != b:
                uncertain += "uncertain" in (a, b)
                flipped += "uncertain" not in (a, b)
    return compared, uncertain, flipped


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args()
    table = run(args.data)
    if table is None:
        print("no real landmark files found: skipped")
        return
    per_variant = (
        table.group_by("variant", maintain_order=True)
        .agg(
            recordings=pl.len(),
            counts_right=pl.col("count_ok").sum(),
            refused=pl.col("refused").is_not_null().sum(),
            labels_as_original=pl.col("same_labels").sum(),
            compared=pl.col("same_labels").is_not_null().sum(),
        )
        .sort("variant")
    )
    with pl.Config(tbl_rows=200, fmt_str_lengths=80, tbl_width_chars=220, tbl_hide_dataframe_shape=True):
        print(per_variant)
        print(
            table.filter(~pl.col("count_ok") | ~pl.col("same_labels").fill_null(True)).select(
                "clip", "variant", "low", "high", "found", "labels", "original_labels", "refused"
            )
        )
    compared, uncertain, flipped = label_changes(table.filter(pl.col("variant") != "as recorded"))
    print(
        f"real landmark files as other recordings: {int(table['count_ok'].sum())}/{table.height} counts "
        f"right, {int(table['refused'].is_not_null().sum())} refused; of {compared} reps compared with "
        f"the original, {uncertain} moved to or from uncertain and {flipped} took another label"
    )


if __name__ == "__main__":
    main()
