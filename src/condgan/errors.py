"""Errors that are the user's to fix, and the one way every command turns them into a one-line exit.

Every ``condgan`` command (``train``, ``eval``, ``generate``, ``export``, ``report``, ``serve``) wraps its main
function in ``exit_on_user_error``: a bad file, setting or disk prints ``error: <what is wrong and what to
do>`` and exits 1, without a traceback. ``HYDRA_FULL_ERROR=1`` prints the traceback too. Anything else is a
bug and keeps its traceback.
"""

import functools
import os
import traceback
from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


class UserError(Exception):
    """A problem with what the user gave (a file, a setting, the disk); the message names it and says what to do."""


class CheckpointError(UserError, RuntimeError):
    """A checkpoint is missing, corrupt or unsafe to load."""


class UnsafeCheckpointError(CheckpointError):
    """A checkpoint whose config asks for something other than plain values and condgan's own networks."""


class ConfigError(UserError, ValueError):
    """A setting that cannot work; the message names it as a command-line override and says what to pass."""


class DiskFullError(UserError, OSError):
    """No space left while writing a file; the previous version of the file is untouched."""


# ValueError and OSError as well: condgan's checks raise ValueError for bad values, and an OSError names the
# path and the reason (permission denied, no space left), which is what the user needs, not a traceback.
USER_ERRORS = (UserError, ValueError, OSError)

MISSING_FIXES = {  # a mandatory (???) setting left out → what to pass
    "ckpt_path": "no checkpoint given: pass ckpt_path=<run folder>/checkpoints/last.ckpt",
    "format": "no format given: pass format=onnx or format=safetensors",
}


def user_error_message(error: BaseException) -> str | None:
    """The one line to print for ``error``, or None when it is not the user's to fix (a bug)."""
    try:  # here, and optional: the serving image has neither Hydra nor OmegaConf
        from hydra.errors import InstantiationException
        from omegaconf.errors import MissingMandatoryValue
    except ImportError:
        InstantiationException = MissingMandatoryValue = ()  # isinstance(x, ()) is False

    if isinstance(error, MissingMandatoryValue):
        key = str(error.full_key)
        return f"error: {MISSING_FIXES.get(key, f'no {key} given: pass {key}=<value>')}"
    if isinstance(error, InstantiationException) and isinstance(error.__cause__, (*USER_ERRORS, *misconfigured())):
        error = error.__cause__  # a constructor's own check (e.g. d_steps_per_g >= 1), without Hydra's wrapping
    if isinstance(error, (*USER_ERRORS, *misconfigured())):
        return f"error: {error}"
    return None


def misconfigured() -> tuple[type[Exception], ...]:
    """Lightning's exception for a Trainer setting it cannot honour (max_epochs=-2, a GPU that is not there):
    the user's to fix. Empty where Lightning is not installed (the serving install)."""
    try:
        from lightning.fabric.utilities.exceptions import MisconfigurationException
    except ImportError:
        return ()
    return (MisconfigurationException,)


def is_rank_zero() -> bool:
    """False in the extra processes of a multi-process run (DDP): the rank-0 process reports for all of them."""
    return all(os.environ.get(name, "0") == "0" for name in ("RANK", "LOCAL_RANK", "SLURM_PROCID"))


def exit_on_user_error(main: F) -> F:
    """Decorate a command's main function: a user error exits 1 with its one line (see the module docstring)."""

    @functools.wraps(main)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return main(*args, **kwargs)
        except Exception as error:
            message = user_error_message(error)
            if message is None:
                raise
            if os.environ.get("HYDRA_FULL_ERROR") == "1":
                traceback.print_exc()
            raise SystemExit(message if is_rank_zero() else 1) from None

    return run  # type: ignore[return-value]
