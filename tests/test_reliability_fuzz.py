"""Property-based fuzzing: whatever bytes land in a batch folder, a reader raises BadRecording
(a quarantine reason) or returns frames - never another exception. Same for the manifest parser.

Quick run: a few examples per reader. ``-m slow`` (part of ``make test``): 2,000 per reader, 500 for
C3D, whose every read parses in a child interpreter (~0.1 s each) so that ezc3d cannot take ingest down.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hinge_analytics.ingest import c3d, read_recording
from hinge_analytics.ingest.errors import BadRecording
from hinge_analytics.ingest.manifest import read_manifest

REAL = Path(__file__).parent / "data" / "real"
# format -> (seed file, name it gets in the recording, whether the recording is a folder)
SEEDS = {
    "mediapipe_csv": (REAL / "mediapipe_csv" / "pose2sim_demo_cam01_world.csv", "rec.csv", False),
    "openpose_json": (
        REAL / "openpose_json" / "body25b_pose2sim_cam01" / "cam01.0003.json",
        "v_000000000003_keypoints.json",
        True,
    ),
    "coco17_json": (REAL / "coco17_json" / "mmpose_test_coco.json", "rec.json", False),
    "trc": (REAL / "trc" / "opensim_subject01_walk1.trc", "rec.trc", False),
    "c3d": (REAL / "c3d" / "ktk_kinematics_racing_probing_acromion_R.c3d", "rec.c3d", False),
    "imu_csv": (
        REAL / "imu_csv" / "xsens_mtw_mtmanager2022" / "MT46_01-000_00B42D4D.txt",
        "sacrum.txt",
        True,
    ),
}
NASTY = [
    b"NaN",
    b"inf",
    b"-inf",
    b"1e308",
    b"-1e309",
    b"",
    b"\x00",
    b"\xff\xfe",
    b",",
    b"\t",
    b";",
    b"\n",
    b"\r\n",
    b"{",
    b"]",
    b'"',
    b"0",
    b"-1",
    b"99999999999999999999",
]


@st.composite
def mutated(draw, seed: bytes) -> bytes:
    """Random bytes, or the seed truncated / with bytes flipped / tokens swapped for nasty ones."""
    kind = draw(st.sampled_from(["random", "truncate", "flip", "splice", "empty"]))
    if kind == "random":
        return draw(st.binary(max_size=4096))
    if kind == "empty":
        return b""
    data = bytearray(seed)
    if kind == "truncate":
        return bytes(data[: draw(st.integers(0, len(data)))])
    if kind == "flip":
        for _ in range(draw(st.integers(1, 20))):
            i = draw(st.integers(0, len(data) - 1))
            data[i] = draw(st.integers(0, 255))
        return bytes(data)
    for _ in range(draw(st.integers(1, 10))):
        i = draw(st.integers(0, len(data)))
        j = min(len(data), i + draw(st.integers(0, 12)))
        data[i:j] = draw(st.sampled_from(NASTY))
    return bytes(data)


def _check_reader(fmt: str, payload: bytes, rate: float | None) -> None:
    seed, name, folder = SEEDS[fmt]
    with tempfile.TemporaryDirectory(prefix="hinge-fuzz-") as tmp:
        root = Path(tmp) / "rec"
        target = root / name if folder else Path(tmp) / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(payload)
        recording = root if folder else target
        for given_fmt in (fmt, None):
            try:
                read_recording(recording, given_fmt, rate)
            except BadRecording as exc:
                assert str(exc).strip(), "a quarantine reason must say something"


def _fuzz(fmt: str, examples: int):
    seed = SEEDS[fmt][0].read_bytes()

    @settings(
        max_examples=examples,
        deadline=None,
        derandomize=examples < 50,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(payload=mutated(seed), rate=st.sampled_from([None, 30.0, 60.0, 1.0]))
    def run(payload: bytes, rate: float | None) -> None:
        _check_reader(fmt, payload, rate)

    return run


@pytest.fixture
def short_c3d_timeout(monkeypatch):
    """Some mutated C3D files make ezc3d spin until the reader's time limit. That limit is sized for
    the largest real captures; the fuzz seed parses in about 0.1 s, so a few seconds tells a hang
    apart just as well and keeps the suite's run time independent of the draw."""
    monkeypatch.setattr(c3d, "TIMEOUT_S", 5)


@pytest.mark.parametrize("fmt", sorted(SEEDS))
def test_fuzz_readers_quick(fmt, short_c3d_timeout):
    _fuzz(fmt, 3 if fmt == "c3d" else 12)()


@pytest.mark.slow
@pytest.mark.parametrize("fmt", sorted(SEEDS))
def test_fuzz_readers_2000(fmt, short_c3d_timeout):
    _fuzz(fmt, 500 if fmt == "c3d" else 2000)()


HEADER = (
    "recording_id,path,athlete_id,session_date,exercise,side,load_kg,set_number,format,sample_rate_hz,label"
)
cell = st.one_of(
    st.text(max_size=20),
    st.sampled_from(
        [
            "",
            "deadlift",
            "2026-01-05",
            "../x",
            "/etc/passwd",
            "rec.csv",
            "x' OR '1'='1",
            "NaN",
            "inf",
            "-1",
            "1e400",
            "a\x00b",
            "left",
            "trc",
            "<script>",
            "\u202e",
            "0",
        ]
    ),
)


def _check_manifest(text: bytes) -> None:
    with tempfile.TemporaryDirectory(prefix="hinge-fuzz-") as tmp:
        batch = Path(tmp) / "batch"
        batch.mkdir()
        (batch / "rec.csv").write_text("x\n")
        (batch / "manifest.csv").write_bytes(text)
        try:
            valid, rejected = read_manifest(batch / "manifest.csv")
        except BadRecording:
            return
        for row in valid:
            assert row.file.resolve().is_relative_to(batch.resolve())
        assert all(r.reason for r in rejected)


def _manifest_fuzz(examples: int):
    @settings(
        max_examples=examples,
        deadline=None,
        derandomize=examples < 50,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(
        rows=st.lists(st.lists(cell, min_size=0, max_size=13), max_size=6),
        raw=st.binary(max_size=512),
        use_raw=st.booleans(),
        sep=st.sampled_from([",", ";", "\t"]),
    )
    def run(rows, raw, use_raw, sep):
        if use_raw:
            _check_manifest(raw)
        else:
            lines = [HEADER.replace(",", sep)] + [sep.join(r) for r in rows]
            _check_manifest("\n".join(lines).encode("utf-8", "surrogatepass"))

    return run


def test_fuzz_manifest_quick():
    _manifest_fuzz(40)()


@pytest.mark.slow
def test_fuzz_manifest_2000():
    _manifest_fuzz(2000)()


def test_fuzz_payloads_leave_the_seed_files_alone():
    before = {p: p.read_bytes() for p, _, _ in SEEDS.values()}
    _check_reader("trc", b"PathFileType\n", None)
    assert {p: p.read_bytes() for p in before} == before
    assert shutil.which  # the fuzz writes only into its own temporary folders


# --------------------------------------------------------------------------- C3D pre-check
def _c3d_variant(tmp_path: Path, edit) -> Path:
    data = bytearray(SEEDS["c3d"][0].read_bytes())
    edit(data)
    path = tmp_path / "rec.c3d"
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize(
    ("edit", "words"),
    [
        (lambda d: d.__setitem__(515, 99), "processor"),  # parameter section: unknown processor
        (lambda d: d.__setitem__(0, 200), "outside the file"),  # parameter block past the end
        (lambda d: d.__setitem__(1328, 231), "inconsistent"),  # a description length that made
        # ezc3d allocate for ~45 s (found by the 2,000-case fuzz)
        (lambda d: d.__delitem__(slice(2100, None)), "first frame"),  # no data at all
    ],
)
def test_damaged_c3d_is_refused_before_ezc3d_starts(tmp_path, monkeypatch, edit, words):
    from hinge_analytics.ingest import c3d

    def no_child(path):
        raise AssertionError("ezc3d was started for a file the header check should refuse")

    monkeypatch.setattr(c3d, "_parse_in_child", no_child)
    with pytest.raises(BadRecording, match=words):
        c3d.load_c3d(_c3d_variant(tmp_path, edit))


def test_c3d_cut_short_after_whole_frames_is_still_read_like_ezc3d_does(tmp_path):
    """Real files end early (ezc3d's own Optotrak test file): the frames present are used."""
    from hinge_analytics.ingest.c3d import load_c3d

    frame = 41 * 4 * 4
    arrays = load_c3d(_c3d_variant(tmp_path, lambda d: d.__delitem__(slice(len(d) - 40 * frame, None))))
    assert len(arrays.frame_numbers) == 100


@pytest.mark.parametrize("fmt", ["mediapipe_csv", "imu_csv"])
def test_a_trailing_lone_quote_quarantines(fmt):
    """polars 2.1 panics (a BaseException, not an Exception) on a typed CSV column whose file ends
    in a lone quote; the fuzzer found it and the reader must turn it into a quarantine reason."""
    _check_reader(fmt, SEEDS[fmt][0].read_bytes() + b'\n"', None)
