"""One console per run: condgan's lines, the progress bar and real warnings, each once; train.log keeps it all.

Left alone under Hydra, the console shows every Lightning INFO line twice (Lightning's own "INFO: ..." handler
and Hydra's), Lightning's advertisement for its cloud logger, W&B's warning about the ``anonymous`` argument
that Lightning passes to every ``wandb.init``, and the deprecation warnings libraries raise about each other.
"""

import contextlib
import logging
import sys
import warnings
from pathlib import Path
from typing import Any, TextIO

from lightning.pytorch.loggers import Logger, WandbLogger

CONDGAN_DIR = str(Path(__file__).resolve().parent)
CONSOLE_NOISE = (  # kept in train.log, not worth a console line
    "litlogger",  # Lightning's tip to install its cloud logger, on every Trainer
    "is not supported by the model summary",  # the summary's size estimate under bf16-mixed, the default here
)
WANDB_NOISE = ("The anonymous setting has no effect",)  # about Lightning's argument, not something a user did
DEPRECATIONS = (DeprecationWarning, PendingDeprecationWarning, FutureWarning)


class ConsoleFilter(logging.Filter):
    """On the console handlers only: drops CONSOLE_NOISE and records marked ``file_only``; the log file keeps both."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "file_only", False):
            return False
        return not any(text in record.getMessage() for text in CONSOLE_NOISE)


def log_warning(
    message: Any, category: type[Warning], filename: str, lineno: int, file: Any = None, line: Any = None
) -> None:
    """``warnings.showwarning`` of a run: every warning goes to the log, once through the root logger's handlers.

    Deprecation warnings raised outside condgan are one library warning about another's API: nothing a user
    can act on, so they go to train.log only. condgan's own still reach the console, for its developers.
    """
    text = warnings.formatwarning(message, category, filename, lineno, line).rstrip()
    file_only = issubclass(category, DEPRECATIONS) and not str(filename).startswith(CONDGAN_DIR)
    logging.getLogger("py.warnings").warning("%s", text, extra={"file_only": file_only})


def quiet_console() -> None:
    """Under Hydra's logging (root logger with console + file handlers): one console line per record."""
    root = logging.getLogger()
    if not root.handlers:  # not under Hydra: the libraries' own printing is all there is
        return
    for name in ("lightning", "lightning.pytorch", "lightning.fabric"):
        logging.getLogger(name).handlers.clear()  # their own console handlers; the records still reach root's
        logging.getLogger(name).propagate = True
    for handler in root.handlers:
        is_console = not isinstance(handler, logging.FileHandler)
        if is_console and not any(isinstance(f, ConsoleFilter) for f in handler.filters):
            handler.addFilter(ConsoleFilter())
    warnings.showwarning = log_warning


class DroppingLines:
    """A text stream that passes every line on to ``stream`` except those containing one of ``drop``."""

    def __init__(self, stream: TextIO, drop: tuple[str, ...]):
        self.stream, self.drop = stream, drop

    def write(self, text: str) -> int:
        kept = "".join(line for line in text.splitlines(keepends=True) if not any(d in line for d in self.drop))
        self.stream.write(kept)
        return len(text)

    def __getattr__(self, name: str) -> Any:  # flush, isatty, encoding, fileno: the real stream's
        return getattr(self.stream, name)


def start_wandb(loggers: list[Logger]) -> None:
    """Start the W&B run of every WandbLogger now, keeping W&B's complaint about Lightning's arguments quiet."""
    for logger in loggers:
        if isinstance(logger, WandbLogger):
            with contextlib.redirect_stderr(DroppingLines(sys.stderr, WANDB_NOISE)):
                logger.experiment  # noqa: B018  (the property starts the run)
