"""Refresh ``last.ckpt`` every N minutes inside an epoch, so a killed long epoch loses at most N minutes.

Not Lightning's ``ModelCheckpoint(train_time_interval=...)``: in Lightning 2.6 it never saves a manually
optimized module such as ConditionalGAN (tests/test_timed_checkpoint.py shows it, and fails once that changes).
"""

import time
from pathlib import Path

import lightning as L


class TimedCheckpoint(L.Callback):
    def __init__(self, dirpath: str, every_n_minutes: float = 10.0, filename: str = "last.ckpt"):
        if every_n_minutes <= 0:
            raise ValueError(f"every_n_minutes must be > 0, got {every_n_minutes}")
        self.path = Path(dirpath) / filename
        self.interval_s = 60.0 * every_n_minutes
        self._last_save = time.monotonic()

    def on_train_start(self, trainer, pl_module) -> None:
        self._last_save = time.monotonic()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        due = time.monotonic() - self._last_save >= self.interval_s
        # Every rank must take part in save_checkpoint, so rank 0's clock decides for all.
        if trainer.strategy.broadcast(due, src=0):
            trainer.save_checkpoint(self.path)  # written atomically by SafeCheckpointIO
            self._last_save = time.monotonic()

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        # The default callbacks' last_checkpoint (a ModelCheckpoint named "last", which Lightning orders after
        # this callback) writes last.ckpt at every epoch's end: count the next interval from here
        self._last_save = time.monotonic()
