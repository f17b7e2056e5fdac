"""Class-data sharing (CDS) for the local driver JVM: a JVM that maps an archive of the classes an
earlier Spark driver loaded starts Spark ~1.6 s sooner on this 2-core host (3.9 s -> 2.3 s for
`SparkSession.getOrCreate()`), which every CLI command that needs Spark pays.

The first local session records its classes into a temporary archive that its JVM writes at exit
(`-XX:ArchiveClassesAtExit`, 130-180 MB); the next session promotes it, once its writer has exited,
and maps it (`-XX:SharedArchiveFile`). Archives live in the user's cache folder, one per PySpark
version and Java binary. Only Java releases in TESTED_JAVA (the JVM's `release` file says which) and
PySpark releases in pyspark_daemon.TESTED_PYSPARK get these options. `SPARK_OPTIMIZER_JVM_CDS=0`
turns this off, and so does SPARK_OPTIMIZER_SPARK_SPEEDUPS=off with every other speed-up; a JVM that
cannot start with an archive gets it deleted and starts without (`session.get_or_create_spark`)."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

from spark_optimizer.pyspark_daemon import is_tested_pyspark

CDS_ENV = "SPARK_OPTIMIZER_JVM_CDS"
# Java feature releases these options were run with (dynamic archives need 13+; 8 and 11 refuse
# -XX:ArchiveClassesAtExit and would not start).
TESTED_JAVA = (17,)
# CDS reports classes it cannot archive (old bytecode, generated accessors) as warnings on stderr.
QUIET = "-Xlog:cds=off -Xlog:cds+dynamic=off"


def cds_enabled(environ: dict[str, str] | None = None) -> bool:
    return (environ if environ is not None else os.environ).get(CDS_ENV, "1").strip().lower() not in ("0", "false", "no", "off")


def cache_folder(environ: dict[str, str] | None = None) -> Path:
    env = environ if environ is not None else os.environ
    base = Path(env["XDG_CACHE_HOME"]) if env.get("XDG_CACHE_HOME") else Path.home() / ".cache"
    return base / "spark-optimizer" / "jvm-cds"


def java_binary(environ: dict[str, str] | None = None) -> Path | None:
    """The java that spark-submit will run: $JAVA_HOME/bin/java, else java on PATH."""
    env = environ if environ is not None else os.environ
    if env.get("JAVA_HOME"):
        return Path(env["JAVA_HOME"]) / "bin" / "java"
    found = shutil.which("java", path=env.get("PATH"))
    return Path(found) if found else None


def java_feature_version(java: Path) -> int | None:
    """17 for JAVA_VERSION="17.0.15", 8 for "1.8.0_392", from the `release` file of the Java home;
    None when there is none."""
    try:
        release = (java.resolve().parents[1] / "release").read_text()
    except (OSError, IndexError):
        return None
    for line in release.splitlines():
        if line.startswith("JAVA_VERSION="):
            parts = line.split("=", 1)[1].strip().strip('"').split(".")
            try:
                return int(parts[1]) if parts[0] == "1" and len(parts) > 1 else int(parts[0])
            except ValueError:
                return None
    return None


def archive_path(folder: Path, pyspark_version: str, java: Path) -> Path:
    """One archive per PySpark version and Java binary (its real path and modification time)."""
    real = java.resolve()
    identity = f"{real}|{real.stat().st_mtime_ns}"
    return folder / f"spark-{pyspark_version}-{hashlib.sha256(identity.encode()).hexdigest()[:12]}.jsa"


def _command_lines() -> list[bytes] | None:
    """Every live process's command line; None where /proc cannot tell."""
    proc = Path("/proc")
    if not proc.is_dir():
        return None
    lines = []
    for cmdline in proc.glob("[0-9]*/cmdline"):
        try:
            lines.append(cmdline.read_bytes())
        except OSError:
            continue  # the process ended meanwhile
    return lines


def _promote_finished(archive: Path) -> bool:
    """Rename a temporary archive whose writing JVM has exited (no live process has its path on the
    command line; the JVM writes it at its exit and can outlive the Python process that started it)
    to `archive`; True when one is being written right now (so this session should neither map nor
    write one)."""
    temps = sorted(archive.parent.glob(archive.name + ".*.tmp"))
    if not temps:
        return False
    command_lines = _command_lines()
    if command_lines is None:
        return True  # cannot tell: never promote
    writing = False
    for temp in temps:
        if any(str(temp).encode() in line for line in command_lines):
            writing = True
        elif temp.stat().st_size > 0 and not archive.exists():
            os.replace(temp, archive)
        else:
            temp.unlink(missing_ok=True)
    return writing


def driver_cds_options(pyspark_version: str, environ: dict[str, str] | None = None) -> tuple[str | None, Path | None]:
    """(JVM options, archive) for a local driver JVM about to start: map the archive when there is
    one, else write one at exit; (None, None) when CDS is off or not possible here."""
    if not cds_enabled(environ):
        return None, None
    java = java_binary(environ)
    if java is None or not java.exists() or java_feature_version(java) not in TESTED_JAVA:
        return None, None
    if not is_tested_pyspark(pyspark_version):
        return None, None
    try:
        folder = cache_folder(environ)
        folder.mkdir(parents=True, exist_ok=True)
        archive = archive_path(folder, pyspark_version, java)
        writing = _promote_finished(archive)
    except OSError:
        return None, None
    if archive.exists():
        return f"-XX:SharedArchiveFile={archive} {QUIET}", archive
    if writing:
        return None, None
    temp = archive.with_name(f"{archive.name}.{os.getpid()}.tmp")
    return f"-XX:ArchiveClassesAtExit={temp} {QUIET}", None
