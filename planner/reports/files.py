"""Writing report folders: checked before any work, complete or not at all.

`check_destination` runs before solving, so an impossible `--out` costs nothing. `staged`
writes into a hidden temporary folder beside the destination and moves the files in only
when every one is complete; on any failure (or Ctrl-C) nothing is left behind.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

from planner.errors import PlanError


def check_destination(folder: Path, names: list[str], option: str = "--out") -> None:
    """Raise PlanError unless `folder` is, or can become, a folder these files can go in."""
    if folder.exists() and not folder.is_dir():
        raise PlanError(f"{folder} is a file; expected a folder to write into", path=option)
    existing = folder
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise PlanError(f"{existing} is a file, so {folder} cannot be created", path=option)
    if not os.access(existing, os.W_OK | os.X_OK):
        raise PlanError(f"no permission to write in {existing}", path=option)
    for name in names:
        if (folder / name).is_dir():
            raise PlanError(f"{folder / name} is a folder; a file of that name is written "
                            f"there", path=option)


@contextlib.contextmanager
def staged(folder: Path):
    """Yield a temporary folder; on success its files move into `folder` (created if need
    be), on failure it and any parents made for it are removed."""
    made = [p for p in [folder.parent, *folder.parent.parents] if not p.exists()]
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    try:
        yield tmp
        if folder.exists():
            for path in tmp.iterdir():
                os.replace(path, folder / path.name)
            tmp.rmdir()
        else:
            os.rename(tmp, folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        for parent in made:  # innermost first
            with contextlib.suppress(OSError):
                parent.rmdir()
        raise
