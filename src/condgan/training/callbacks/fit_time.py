"""Where a fit's wall clock goes: training steps versus everything else (validation, quality metrics, sample
grids, checkpoints, and Lightning's work between steps: fetching the next batch, callbacks). Logged each epoch
as ``time/fit_s`` and ``time/steps_s`` and said in one line at the end, with a warning when
``trainer.max_time`` ended the fit before its step or epoch budget did."""

import logging
import time

import lightning as L
from lightning.pytorch.callbacks import Timer

log = logging.getLogger(__name__)


class FitTime(L.Callback):
    def __init__(self) -> None:
        self.fit_s = self.steps_s = 0.0  # this process's totals; a resumed run starts them again
        self._fit_start = self._step_start = 0.0

    def on_fit_start(self, trainer, pl_module) -> None:
        self._fit_start = time.perf_counter()

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        self._step_start = time.perf_counter()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self.steps_s += time.perf_counter() - self._step_start

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        self.fit_s = time.perf_counter() - self._fit_start  # validation of this epoch has run by now
        pl_module.log_dict({"time/fit_s": self.fit_s, "time/steps_s": self.steps_s}, rank_zero_only=True)

    def on_fit_end(self, trainer, pl_module) -> None:
        self.fit_s = time.perf_counter() - self._fit_start
        if trainer.is_global_zero and self.fit_s > 0:
            other = self.fit_s - self.steps_s
            log.info(
                "Fit: %.0f s, %.1f%% in training steps; %.0f s (%.1f%%) outside them: validation, quality metrics, "
                "sample grids, checkpoints, data loading",
                self.fit_s,
                100 * self.steps_s / self.fit_s,
                other,
                100 * other / self.fit_s,
            )
        remaining = [c.time_remaining("train") for c in trainer.callbacks if isinstance(c, Timer)]  # max_time's
        if trainer.is_global_zero and any(r is not None and r <= 0 for r in remaining):
            log.warning(
                "trainer.max_time stopped the fit after %d epochs (%d optimizer steps), before its budget "
                "(trainer.max_epochs=%s, trainer.max_steps=%s): a result that depends on this machine's speed and load",
                trainer.current_epoch,
                trainer.global_step,
                trainer.max_epochs,
                trainer.max_steps,
            )
