"""Files that are either the old version or the complete new one, never half-written (even after kill -9)."""

import errno
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from condgan.errors import DiskFullError


def atomic_write(path: str | os.PathLike, write: Callable[[BinaryIO], object]) -> None:
    """Call ``write(file)`` on a temporary file beside ``path``, fsync it, then rename it over ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
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
            raise DiskFullError(
                f"no space left on the disk of {path.parent} while writing {path.name}: {kept}; "
                "free some space (or write elsewhere) and run again"
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
