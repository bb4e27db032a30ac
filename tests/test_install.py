"""A real install: the wheel that `pip install .` builds runs `hinge demo` in a fresh environment.

The wheel is built from a copy of the repository's package sources (so the work tree gets no
``build/`` folder) and installed with ``--no-deps`` into a new venv that sees this environment's
site-packages through a ``.pth`` line: the dependencies are already here, and downloading them
again would take minutes. A ``.pth`` line adds a folder without running the ``.pth`` files inside it,
so the editable install of this environment stays out and only the wheel's package is imported.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# What `pip install .` reads: the build configuration and the folders it maps into the package.
SOURCES = ("pyproject.toml", "README.md", "hinge_analytics", "pipelines", "models")


def _run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    run = subprocess.run(command, capture_output=True, text=True, **kwargs)
    assert run.returncode == 0, f"{' '.join(command)}\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}"
    return run


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel `pip wheel .` builds from the repository's sources."""
    src, dist = tmp_path_factory.mktemp("src"), tmp_path_factory.mktemp("dist")
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "build")
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, src / name, ignore=ignore)
        else:
            shutil.copy2(ROOT / name, src / name)
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(dist), str(src)])
    (built,) = dist.glob("hinge_analytics-*.whl")
    return built


def test_the_wheel_holds_one_package_with_its_model_and_data_files(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    top = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert top == {"hinge_analytics"}  # no generic `pipelines` (or `models`) in site-packages
    model = ROOT / "models" / "default"
    shipped = {f"hinge_analytics/default_model/{p.name}" for p in model.iterdir() if p.is_file()}
    assert shipped and shipped <= set(names)
    data = {p for p in ROOT.joinpath("hinge_analytics").rglob("*") if p.suffix in (".sql", ".css", ".toml")}
    assert data
    assert {p.relative_to(ROOT).as_posix() for p in data} <= set(names)
    flows = {f"hinge_analytics/pipelines/{p.name}" for p in (ROOT / "pipelines").glob("*.py")}
    assert flows <= set(names)


def test_every_package_folder_is_listed_in_pyproject():
    """pyproject.toml lists packages (a found `pipelines` would be installed under that name): a
    new subpackage must be listed there, or the wheel would lack it."""
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {
        ".".join(p.parent.relative_to(ROOT).parts)
        for p in ROOT.joinpath("hinge_analytics").rglob("*")
        if p.is_file() and p.suffix in (".py", ".sql", ".css", ".toml") and "__pycache__" not in p.parts
    }
    assert found <= listed, f"add to [tool.setuptools] packages: {sorted(found - listed)}"


def test_a_fresh_venv_with_the_wheel_runs_the_demo(wheel, tmp_path):
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    purelib = _run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"])
    # this environment's dependencies, after the new venv's own site-packages
    Path(purelib.stdout.strip(), "parent_env.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "--no-deps",
            "--no-index",
            "--quiet",
            str(wheel),
        ]
    )

    work = tmp_path / "elsewhere"  # not the repository: nothing may come from the work tree
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_API_URL", "PYTHONPATH"))}
    env |= {"PREFECT_HOME": str(tmp_path / "prefect"), "MPLBACKEND": "Agg"}
    where = _run(
        [
            str(python),
            "-c",
            "import hinge_analytics.classify as c, hinge_analytics.pipelines as p; "
            "print(c.DEFAULT_MODEL_DIR); print(p.__file__)",
        ],
        cwd=work,
        env=env,
    ).stdout.split()
    installed = Path(purelib.stdout.strip(), "hinge_analytics")
    assert [Path(w) for w in where] == [installed / "default_model", installed / "pipelines" / "__init__.py"]

    hinge = str(env_dir / "bin" / "hinge")
    demo = _run(
        [hinge, "demo", "--out", "out", "--athletes", "2", "--sessions", "1"], cwd=work, env=env, timeout=600
    )
    assert "with the shipped model rep-clf-" in demo.stdout
    assert (work / "out" / "reports" / "index.html").is_file()
    assert not (work / "out" / "lake" / "quarantine").exists() or "quarantined" in demo.stdout
