"""DDP with two CPU processes (gloo) through run.py: one run folder, one set of files, sharded data."""

import subprocess
import sys

import pytest

from condgan.checkpoints.io import read_checkpoint
from condgan.data.datamodule import IdxDataModule
from tests.helpers import cli_args


def test_ddp_cpu_trains_and_writes_one_run_folder(tiny_mnist, child_env, tmp_path):
    run_dir = tmp_path / "ddp"
    args = cli_args(tiny_mnist, run_dir, "trainer=ddp_cpu", "trainer.max_epochs=1", "test=false")
    done = subprocess.run([sys.executable, *args], env=child_env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert sorted(p.name for p in (run_dir / "samples").iterdir()) == ["epoch_000.png"]
    assert sorted(p.name for p in (run_dir / "checkpoints").iterdir()) == ["epoch_000.ckpt", "last.ckpt"]
    assert [p.name for p in tmp_path.iterdir()] == ["ddp"]  # no second run folder from rank 1
    # 256 training images, global batch 32 over 2 processes: 8 steps of 16 per process, 2 optimizer steps each.
    assert read_checkpoint(run_dir / "checkpoints" / "last.ckpt")["global_step"] == 2 * 8


def test_each_rank_sees_distinct_data(tiny_mnist):
    """The DistributedSampler Lightning injects splits the training set into disjoint shards."""
    from torch.utils.data import DistributedSampler

    dm = IdxDataModule(data_dir=str(tiny_mnist), val_size=64, batch_size=32, try_download=False)
    dm.setup("fit")
    shards = [
        list(DistributedSampler(dm.train_set, num_replicas=2, rank=rank, shuffle=True, seed=0)) for rank in (0, 1)
    ]
    assert not set(shards[0]) & set(shards[1])
    assert len(shards[0]) + len(shards[1]) == len(dm.train_set)


def test_global_batch_must_divide_over_processes(tiny_mnist):
    class FakeTrainer:
        world_size, current_epoch = 3, 0

    dm = IdxDataModule(data_dir=str(tiny_mnist), batch_size=32, try_download=False)
    dm.trainer = FakeTrainer()
    with pytest.raises(ValueError, match="multiple of 3"):
        _ = dm.batch_size_per_device
    FakeTrainer.world_size = 2
    assert dm.batch_size_per_device == 16
