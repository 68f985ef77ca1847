"""Files that are either the old version or the complete new one, never half-written (even after kill -9)."""

import errno
import logging
import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from condgan.errors import DiskFullError

log = logging.getLogger(__name__)
TEMP_PREFIX, TEMP_SUFFIX = ".", ".tmp"  # .<target name>.<mkstemp's 8 random characters>.tmp, beside the target
TEMP_NAME = re.compile(r"\..+\.[a-z0-9_]{8}\.tmp")


def atomic_write(path: str | os.PathLike, write: Callable[[BinaryIO], object]) -> None:
    """Call ``write(file)`` on a temporary file beside ``path``, fsync it, then rename it over ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f"{TEMP_PREFIX}{path.name}.", suffix=TEMP_SUFFIX)
    try:
        with os.fdopen(fd, "wb") as tmp:
            write(tmp)
            tmp.flush()
            os.fsync(tmp.fileno())
        os.chmod(tmp_name, 0o644)  # mkstemp creates 0600; outputs should be readable like any other file
        os.replace(tmp_name, path)
    except BaseException as error:
        Path(tmp_name).unlink(missing_ok=True)
        if out_of_space(error):
            kept = f"the previous {path.name} is untouched" if path.exists() else f"no {path.name} was written"
            fix = "free some space (or write elsewhere) and run again"
            if path.suffix == ".ckpt" and (last := path.with_name("last.ckpt")).is_file():  # a training run's
                run_dir = path.parent.parent
                fix = f"free some space, then resume: condgan train ckpt_path={last} hydra.run.dir={run_dir}"
            raise DiskFullError(
                f"no space left on the disk of {path.parent} while writing {path.name}: {kept}; {fix}"
            ) from error
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)  # make the rename itself durable
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    atomic_write(path, lambda f: f.write(data))


def out_of_space(error: BaseException | None) -> bool:
    """Whether ``error`` comes from a full disk (or quota), also when a library re-raised it as something else.

    torch.save, for one, turns the OSError of its file's write() into "RuntimeError: [enforce fail at
    inline_container.cc:672] . unexpected pos"; the OSError is still there as the exception's context.
    """
    seen = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return False


def remove_stale_temp_files(folder: str | os.PathLike) -> None:
    """Delete the temporary files that writers killed mid-write (``kill -9``) left in ``folder`` or one level
    below (a run folder and its ``checkpoints/``, ``csv/``). Call it before this process writes anything there:
    a temporary file is only ever stale or one's own.
    """
    pattern = f"{TEMP_PREFIX}*{TEMP_SUFFIX}"
    for tmp in [*Path(folder).glob(pattern), *Path(folder).glob(f"*/{pattern}")]:
        if TEMP_NAME.fullmatch(tmp.name) and tmp.is_file():
            tmp.unlink(missing_ok=True)
            log.info("Removed %s, left by a run killed while writing it", tmp)
