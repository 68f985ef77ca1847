"""When a callback that works every N epochs is due: the shared rule of QualityMetrics and SampleGrid."""

import lightning as L


def epoch_due(trainer: L.Trainer, every_n_epochs: int) -> bool:
    """Every ``every_n_epochs``-th epoch, and the last one that max_epochs or max_steps allow, so a run
    shorter than ``every_n_epochs`` epochs (or one ending between two readings) is seen at its end."""
    epochs = trainer.current_epoch + 1
    steps_after_epoch = trainer.global_step + trainer.global_step // epochs  # the same number of steps again
    last = (trainer.max_epochs is not None and 0 < trainer.max_epochs <= epochs) or (
        0 < trainer.max_steps < steps_after_epoch
    )
    return last or epochs % every_n_epochs == 0
