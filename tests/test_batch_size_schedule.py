"""callbacks.batch_size_schedule: bigger batches from a milestone epoch on, the learning rates scaled once."""

import math

import pytest

from condgan.checkpoints.io import read_checkpoint
from condgan.data.datamodule import scheduled_batch_size
from condgan.training.callbacks import BatchSizeSchedule

SCHEDULE = (
    "+callbacks.batch_size_schedule={_target_: condgan.training.callbacks.BatchSizeSchedule, milestones: [[1, 64]]}"
)
FAST = ("model=mnist_gan_model", "callbacks=no_quality", "test=false")  # the schedule is all that is tested here


def test_the_batch_size_of_an_epoch_is_the_last_milestones():
    assert [scheduled_batch_size(32, {2: 64, 4: 128}, e) for e in range(6)] == [32, 32, 64, 64, 128, 128]
    for bad in ([[0, 64]], [[2, 0]], [[2]], []):
        with pytest.raises(ValueError, match=r"milestones must be \[\[epoch >= 1, batch size >= 1\], ...\]"):
            BatchSizeSchedule(bad)


def adam_lrs(ckpt: dict) -> list[float]:
    return [group["lr"] for state in ckpt["optimizer_states"] for group in state["param_groups"]]


def test_a_schedule_trains_later_epochs_in_bigger_batches_and_resumes_without_scaling_twice(run_cli, tmp_path):
    # the tiny data: 256 training images, 8 batches of 32 in epoch 0, then 4 of 64 in each later epoch
    whole = run_cli("trainer.max_epochs=3", *FAST, SCHEDULE, run_dir=tmp_path / "whole")
    ckpt = read_checkpoint(whole / "checkpoints" / "last.ckpt")
    assert ckpt["global_step"] == 2 * (8 + 4 + 4)  # the loggers' steps: one D and one G step a batch
    assert adam_lrs(ckpt) == pytest.approx([2e-4 * math.sqrt(2)] * 2)  # √(64 / 32), once
    assert ckpt["callbacks"]["BatchSizeSchedule"] == {"scaled_epochs": [1]}

    first = run_cli("trainer.max_epochs=2", *FAST, SCHEDULE, run_dir=tmp_path / "first")
    resumed = run_cli(
        "trainer.max_epochs=3",
        *FAST,
        SCHEDULE,
        f"ckpt_path={first / 'checkpoints' / 'last.ckpt'}",
        run_dir=tmp_path / "resumed",
    )
    again = read_checkpoint(resumed / "checkpoints" / "last.ckpt")
    assert again["global_step"] == ckpt["global_step"]
    assert adam_lrs(again) == pytest.approx(adam_lrs(ckpt))
