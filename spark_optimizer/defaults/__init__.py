"""The built-in defaults shipped inside the package (`rules.toml`, `spark_optimizer.toml`,
`pricing/*.toml`) and the user's conf folder, which overrides them file by file.

The user's conf folder is `$SPARK_OPTIMIZER_CONF_DIR`, else `./conf` of the working directory when
there is one (the layout of a clone of the repository before the defaults moved here). A file
present there wins over the packaged one of the same name (`conf/rules.toml`, `conf/pricing/`,
`conf/spark_optimizer.toml`); a missing one falls back to the package's."""

from __future__ import annotations

import os
import shutil
import tempfile
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Mapping

from spark_optimizer.errors import ConfigurationError

CONF_DIR_ENV = "SPARK_OPTIMIZER_CONF_DIR"
RULES = "rules.toml"
SETTINGS = "spark_optimizer.toml"
PRICING = "pricing"


def user_conf_dir(environ: Mapping[str, str] | None = None) -> Path | None:
    env = os.environ if environ is None else environ
    if env.get(CONF_DIR_ENV):
        folder = Path(env[CONF_DIR_ENV])
        if not folder.is_dir():
            raise ConfigurationError(f"{CONF_DIR_ENV}={folder} is not a folder; point it at a folder holding "
                                     f"{RULES}, {SETTINGS} or {PRICING}/, or unset it to use the packaged defaults")
        return folder
    local = Path("conf")
    return local if local.is_dir() else None


def conf_path(name: str, environ: Mapping[str, str] | None = None) -> Path:
    """`name` (a file or folder) from the user's conf folder when it is there, else the package's."""
    user = user_conf_dir(environ)
    if user is not None and (user / name).exists():
        return user / name
    return packaged(name)


def packaged(name: str) -> Path:
    """The package's own copy of `name`, as a path on disk."""
    resource = resources.files(__package__).joinpath(name)
    if isinstance(resource, Path):
        return resource
    return _extracted(name)


@lru_cache(maxsize=None)
def _extracted(name: str) -> Path:
    """Copy a packaged resource to a temporary folder when the package is not on disk (a zip on
    PYTHONPATH, as with spark-submit --py-files)."""
    target = Path(tempfile.mkdtemp(prefix="spark-optimizer-defaults-")) / name

    def copy(source, destination: Path) -> None:
        if source.is_dir():
            destination.mkdir(parents=True, exist_ok=True)
            for child in source.iterdir():
                copy(child, destination / child.name)
        else:
            with source.open("rb") as reader, destination.open("wb") as writer:
                shutil.copyfileobj(reader, writer)

    copy(resources.files(__package__).joinpath(name), target)
    return target
