"""``loss_curves.png`` at the end of fit: train (per logged step) and val (per epoch) G and D losses."""

from pathlib import Path
from typing import Any

import lightning as L

from condgan.plots import LOSSES, plot_loss_curves


class LossCurves(L.Callback):
    """Keeps its own history (saved in checkpoints, so a resumed run plots the whole run) and plots it."""

    def __init__(self, path: str, every_n_steps: int = 50):
        self.path, self.every_n_steps = Path(path), every_n_steps
        self.history: dict[str, list[list[float]]] = {}  # "train/g_loss" -> [[global_step, value], ...]

    def _record(self, trainer: L.Trainer, stage: str) -> None:
        for name in LOSSES:
            value = trainer.callback_metrics.get(f"{stage}/{name}")
            if value is not None:
                self.history.setdefault(f"{stage}/{name}", []).append([trainer.global_step, float(value)])

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if batch_idx % self.every_n_steps == 0:
            self._record(trainer, "train")

    def on_validation_epoch_end(self, trainer, pl_module) -> None:
        if not trainer.sanity_checking:
            self._record(trainer, "val")

    def on_fit_end(self, trainer, pl_module) -> None:
        if trainer.is_global_zero and self.history:
            self.plot()

    def plot(self) -> None:
        plot_loss_curves(self.history, self.path, xlabel="global step (optimizer steps: 2 per batch, D then G)")

    def state_dict(self) -> dict[str, Any]:
        return {"history": self.history}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.history = state_dict["history"]
