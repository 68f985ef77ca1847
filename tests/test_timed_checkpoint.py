"""last.ckpt refreshed inside an epoch on a clock: condgan's TimedCheckpoint, and why it is not Lightning's."""

import datetime

import lightning as L
from lightning.pytorch.callbacks import ModelCheckpoint

from condgan.checkpoints.io import read_checkpoint
from condgan.training.callbacks import TimedCheckpoint
from tests.helpers.tiny_gan import fit, tiny_gan


class CountSaves(L.Callback):
    def __init__(self):
        self.steps = []

    def on_save_checkpoint(self, trainer, pl_module, checkpoint) -> None:
        self.steps.append(trainer.global_step)


def test_timed_checkpoint_saves_inside_the_epoch(tmp_path):
    saves = CountSaves()
    fit(tiny_gan(), batches=5, callbacks=[TimedCheckpoint(str(tmp_path), every_n_minutes=1e-9), saves])
    assert saves.steps == [2, 4, 6, 8, 10]  # after every batch (2 optimizer steps each): the interval is ~0
    assert read_checkpoint(tmp_path / "last.ckpt")["global_step"] == 10


def test_lightnings_time_interval_still_skips_manual_optimization(tmp_path):
    """Why TimedCheckpoint exists: ModelCheckpoint(train_time_interval=...) never saves a manually optimized
    module (Lightning 2.6's on_train_batch_end returns early unless every_n_train_steps is set). When this
    fails, Lightning saves on a clock: replace TimedCheckpoint in configs/callbacks/default.yaml by it."""
    saves = CountSaves()
    every_batch = ModelCheckpoint(dirpath=tmp_path, filename="last", train_time_interval=datetime.timedelta(0))
    fit(tiny_gan(), batches=5, callbacks=[every_batch, saves])
    assert saves.steps == [] and not list(tmp_path.iterdir())
