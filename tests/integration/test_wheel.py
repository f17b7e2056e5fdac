"""The wheel is complete: built from the sources, installed into a fresh venv outside the repository
that holds only the wheel and the distributions its declared requirements reach (no access to this
environment's other packages, `pip check` clean), and run by the path of the venv's `spark-optimizer`
without activating the venv (as pipx and cron run it), it collects, analyzes, trains, builds
recommendations and recommends on the bundled samples.

The declared requirements are followed through this environment's installed distributions, which are
linked into the venv file by file, instead of resolved and downloaded again (PySpark alone is a
400 MB build): what the test proves is that the wheel declares everything it imports.
"""

from __future__ import annotations

import email
import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.conftest import cache_with_this_sessions_class_archives

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def _run(command: list[str], cwd: Path, env: dict[str, str], timeout: int = 900) -> subprocess.CompletedProcess:
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{command}: {done.stdout[-3000:]}\n{done.stderr[-5000:]}"
    return done


def _reached_distributions(requires: list[str]) -> list[importlib.metadata.Distribution]:
    """This environment's distributions that the requirements reach, markers evaluated and extras followed."""
    installed: dict[str, importlib.metadata.Distribution] = {}
    for found in importlib.metadata.distributions():  # in sys.path order: the first of a name is the one imported
        installed.setdefault(canonicalize_name(found.metadata["Name"]), found)
    extras_seen: dict[str, set[str]] = {}
    pending = [(Requirement(r), "") for r in requires]
    while pending:
        requirement, extra = pending.pop()
        if requirement.marker is not None and not requirement.marker.evaluate({"extra": extra}):
            continue
        name = canonicalize_name(requirement.name)
        assert name in installed, f"{requirement} is declared but not installed here: pip install -e '.[dev]'"
        new_extras = ({""} | set(requirement.extras)) - extras_seen.setdefault(name, set())
        extras_seen[name] |= new_extras
        for needed in installed[name].requires or []:
            pending.extend((Requirement(needed), e) for e in new_extras)
    return [installed[name] for name in sorted(extras_seen)]


def _link_into(site: Path, distribution: importlib.metadata.Distribution) -> None:
    """The distribution's files under site-packages (its RECORD), linked one by one into the venv's site-packages."""
    assert distribution.files is not None, f"{distribution.metadata['Name']} has no RECORD: reinstall it with pip"
    for file in distribution.files:
        if file.parts[0] == "..":  # console scripts: the pipeline runs none of its dependencies' executables
            continue
        target, link = Path(distribution.locate_file(file)), site / file
        if target.exists() and not link.exists():
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(target)


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(spark-optimizer executable, clean environment, working folder) of a venv holding only the wheel and what it requires."""
    root = tmp_path_factory.mktemp("wheel")
    source = root / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    shutil.copytree(REPO / "spark_optimizer", source / "spark_optimizer", ignore=shutil.ignore_patterns("__pycache__"))
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYSPARK_PYTHON", "PYSPARK_DRIVER_PYTHON", "SPARK_HOME")
           and not k.startswith("SPARK_OPTIMIZER_")}
    env["XDG_CACHE_HOME"] = cache_with_this_sessions_class_archives(root / "cache")
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(root / "dist"), str(source)], root, env)
    [wheel] = (root / "dist").glob("spark_optimizer-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for packaged in ("spark_optimizer/defaults/rules.toml", "spark_optimizer/defaults/spark_optimizer.toml",
                     "spark_optimizer/defaults/pricing/aws.toml", "spark_optimizer/report_html/templates/app.html.j2",
                     "spark_optimizer/report_html/templates/report.css"):
        assert packaged in names
    assert not [n for n in names if "devtools" in n or n.startswith("tests/")]

    venv = root / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], root, env)
    python = str(venv / "bin" / "python")
    site = Path(_run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], root, env).stdout.strip())
    with zipfile.ZipFile(wheel) as archive:
        [metadata] = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        requires = email.message_from_bytes(archive.read(metadata)).get_all("Requires-Dist") or []
    # pip too, as in any venv `python -m venv` makes (MLflow asks it for its version when it logs a model).
    for distribution in _reached_distributions([*requires, "pip"]):
        _link_into(site, distribution)
    _run([python, "-m", "pip", "install", "-q", "--no-deps", "--no-index", "--disable-pip-version-check", str(wheel)], root, env)
    _run([python, "-m", "pip", "check", "--disable-pip-version-check"], root, env)
    work = root / "work"
    work.mkdir()
    # The venv's bin folder is not on PATH: only the executable's own path says which Python it is.
    return venv / "bin" / "spark-optimizer", env, work


def test_the_wheel_installs_what_it_needs_and_runs_the_whole_pipeline_by_its_path(installed):
    executable, env, work = installed
    version = _run([str(executable), "--version"], work, env).stdout
    from spark_optimizer import __version__

    assert version.strip() == f"spark-optimizer {__version__}"
    warehouse = str(work / "warehouse")
    collected = _run([str(executable), "collect", "--event-log-dir", str(REPO / "samples"), "--warehouse", warehouse], work, env)
    assert "ingested 15, partial 0, failed 0" in collected.stdout + collected.stderr  # samples/runs and samples/eventlogs
    assert "analyzed 15 application attempt(s)" in _run([str(executable), "analyze", "--warehouse", warehouse], work, env).stdout
    trained = _run([str(executable), "train", "--warehouse", warehouse], work, env)
    assert "runtime model version 1" in trained.stdout
    # MLflow's notices (deprecated artifact_path, CloudPickle, a UserWarning in ANSI colours, registration steps) are not shown.
    noise = ("UserWarning", "artifact_path", "CloudPickle", "\x1b[", "Successfully registered", "Created version")
    assert not [line for line in trained.stderr.splitlines() if any(n in line for n in noise)], trained.stderr[-3000:]
    _run([str(executable), "build-recommendations", "--warehouse", warehouse], work, env)
    answer = json.loads(_run([str(executable), "recommend", "--job-type", "etl", "--input-size", "10GB", "--format", "json",
                              "--warehouse", warehouse], work, env).stdout)
    assert answer["run_count"] > 0 and answer["model_version"] == "1"
