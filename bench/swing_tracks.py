"""Real kettlebell swings filmed by a phone: counts and labels from pose tracks nobody here made.

The open swing-analyzer app (github.com/idvorkin/swing-analyzer; no licence stated, so its files
are read in place from a clone and never copied here) ships the pose tracks of three real swing
videos: MediaPipe BlazePose (33 landmarks, pixels) of ``swing-sample`` (two-handed, described by
the app's sample index as good form), its first 5.5 s (``swing-sample-4reps``, whose
``.groundtruth.json`` marks 4 bottoms) and ``igor-1h-swing`` (one-handed), plus MoveNet
(COCO-17) of a longer cut of ``swing-sample`` (``pose-tracks/``). What is true about each:

- the number of swings, counted on a signal the product does not use: peaks of the higher wrist
  above the hips (the bell reaching chest height, 1.0-1.3 trunk lengths; 4reps: its ground truth);
- the sets start and end with the bell parked on the floor (a hinge held for 1-2 s), the way
  swings are taught: the hike pass and the park are not swings.

A pose track is a JSON of frames, each with ``videoTime`` and named keypoints in pixels of
``metadata.videoWidth`` x ``videoHeight``. This bench writes each track in a format the product
reads (MediaPipe landmarks normalised to the frame, or COCO-17 as MMPose writes it), then a
mirrored copy (x flipped, left and right exchanged) and a copy rolled 10 deg, ingests them with
``hinge ingest``'s chunk step and labels every rep with the shipped model. A clip and its copies
must agree on the count and on every label. Each copy is its own athlete: in one athlete's day
the copies would be each other's session context (`classify.features.SessionRelative`), and a
side view's per-side medians would then mix legs.

    .venv/bin/python bench/swing_tracks.py --repo PATH_TO_SWING_ANALYZER_CLONE
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import polars as pl

from hinge_analytics.formats import COCO_17

sys.path.insert(0, str(Path(__file__).resolve().parent))
from realdata import ingest_and_label, swap_sides  # noqa: E402

# file, format, swings (wrist-height peaks; 4reps: the app's ground truth of 4 bottoms)
TRACKS = (
    ("e2e-tests/fixtures/poses/swing-sample.posetrack.json", "mediapipe_csv", 10),
    ("e2e-tests/fixtures/poses/swing-sample-4reps.posetrack.json", "mediapipe_csv", 4),
    ("e2e-tests/fixtures/poses/igor-1h-swing.posetrack.json", "mediapipe_csv", 10),
    ("pose-tracks/swing-sample_movenet-lightning_2025-12-03.posetrack.json.gz", "coco17_json", 15),
)
ROLL_DEG = 10.0


def read_track(path: Path) -> tuple[dict, list[dict]]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt") as f:
        track = json.load(f)
    return track["metadata"], track["frames"]


def copies(frames: list[dict], width: float, height: float) -> dict[str, list[dict]]:
    """The frames as read, mirrored (x flipped, sides exchanged) and rolled about the centre."""

    def mirror(k: dict) -> dict:
        return {**k, "name": swap_sides(k["name"]), "x": width - k["x"]}

    c, s = np.cos(np.radians(ROLL_DEG)), np.sin(np.radians(ROLL_DEG))

    def roll(k: dict) -> dict:
        x, y = k["x"] - width / 2, k["y"] - height / 2
        return {**k, "x": c * x - s * y + width / 2, "y": s * x + c * y + height / 2}

    return {
        "": frames,
        "_mirror": [{**f, "keypoints": [mirror(k) for k in f.get("keypoints") or []]} for f in frames],
        "_roll": [{**f, "keypoints": [roll(k) for k in f.get("keypoints") or []]} for f in frames],
    }


def write_mediapipe(frames: list[dict], width: float, height: float, out: Path) -> None:
    rows = []
    for frame in frames:
        row: dict[str, float] = {"timestamp_ms": 1000.0 * frame["videoTime"]}
        for k in frame.get("keypoints") or []:
            row |= {
                f"{k['name']}_x": k["x"] / width,
                f"{k['name']}_y": k["y"] / height,
                f"{k['name']}_z": k.get("z", 0.0),
                f"{k['name']}_visibility": k.get("score", 0.0),
            }
        rows.append(row)
    pl.DataFrame(rows, infer_schema_length=None).write_csv(out)


def write_coco17(frames: list[dict], out: Path) -> None:
    """MMPose's video layout (docs/formats.md): frames with instances of 17 keypoints and scores."""
    result = []
    for i, frame in enumerate(frames):
        k = {p["name"]: p for p in frame.get("keypoints") or []}
        instances = (
            [
                {
                    "keypoints": [[k[n]["x"], k[n]["y"]] for n in COCO_17],
                    "keypoint_scores": [k[n]["score"] for n in COCO_17],
                }
            ]
            if all(n in k for n in COCO_17)
            else []
        )
        result.append({"frame_id": i, "instances": instances})
    out.write_text(json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", type=Path, help="a clone of github.com/idvorkin/swing-analyzer")
    parser.add_argument("--keep", type=Path, help="keep the converted files and the lake here")
    args = parser.parse_args()
    if args.repo is None or not (args.repo / TRACKS[0][0]).is_file():
        print("swing-analyzer pose tracks not found (give --repo PATH to a clone): skipped")
        return
    with tempfile.TemporaryDirectory() as tmp:
        root = args.keep or Path(tmp)
        root.mkdir(parents=True, exist_ok=True)
        rows, expected = [], {}
        for path, fmt, swings in TRACKS:
            meta, frames = read_track(args.repo / path)
            clip = path.rsplit("/", 1)[1].split(".")[0]
            for suffix, version in copies(frames, meta["videoWidth"], meta["videoHeight"]).items():
                rid = f"{clip}{suffix}"
                out = root / f"{rid}.{'csv' if fmt == 'mediapipe_csv' else 'json'}"
                if fmt == "mediapipe_csv":
                    write_mediapipe(version, meta["videoWidth"], meta["videoHeight"], out)
                else:
                    write_coco17(version, out)
                expected[rid] = (clip, swings)
                rows.append(
                    {
                        "recording_id": rid,
                        "path": out.name,
                        "athlete_id": rid,  # each copy analysed on its own, as a coach would
                        "session_date": "2025-01-01",
                        "exercise": "kettlebell_swing",
                        "format": fmt,
                        "sample_rate_hz": meta["fps"],
                        "image_width": meta["videoWidth"],
                        "image_height": meta["videoHeight"],
                    }
                )
        pl.DataFrame(rows).write_csv(root / "manifest.csv")
        found, refused = ingest_and_label(root / "manifest.csv", None, root)
    table = (
        found.join(
            pl.DataFrame([{"recording_id": r, "clip": c, "expected": n} for r, (c, n) in expected.items()]),
            on="recording_id",
            how="right",
        )
        .with_columns(refused=pl.col("recording_id").replace_strict(refused, default=None))
        .select("clip", "recording_id", "expected", "found", "labels", "refused")
    )
    agree = table.group_by("clip").agg(
        counts=pl.col("found").n_unique() == 1, labels=pl.col("labels").n_unique() == 1
    )
    exact = int((table["expected"] == table["found"]).sum())
    labels = table["labels"].str.split(" ").explode().drop_nulls()
    print(
        f"real swing pose tracks: {exact}/{table.height} counts right; copies agree on the count in "
        f"{int(agree['counts'].sum())}/{agree.height} clips and on every label in "
        f"{int(agree['labels'].sum())}/{agree.height}; labels: "
        + ", ".join(f"{k} {v}" for k, v in labels.value_counts().sort("labels").iter_rows())
    )
    with pl.Config(tbl_rows=50, fmt_str_lengths=120, tbl_width_chars=200, tbl_hide_dataframe_shape=True):
        print(table)


if __name__ == "__main__":
    main()
