import collections
import pickle

import pytest
import torch

from condgan.checkpoints.io import CheckpointError, SafeCheckpointIO, atomic_save, read_checkpoint


def test_atomic_save_roundtrip_and_no_temp_files(tmp_path):
    path = tmp_path / "sub" / "last.ckpt"
    atomic_save({"state_dict": {"w": torch.ones(2)}, "epoch": 3}, path)
    atomic_save({"state_dict": {"w": torch.zeros(2)}, "epoch": 4}, path)  # replaces, never appends
    ckpt = read_checkpoint(path)
    assert ckpt["epoch"] == 4 and torch.equal(ckpt["state_dict"]["w"], torch.zeros(2))
    assert [p.name for p in path.parent.iterdir()] == ["last.ckpt"]


def test_failed_save_keeps_the_previous_file(tmp_path):
    path = tmp_path / "last.ckpt"
    atomic_save({"epoch": 1}, path)
    with pytest.raises((pickle.PicklingError, AttributeError)):  # "Can't pickle local object"
        atomic_save({"epoch": 2, "bad": lambda: None}, path)  # lambdas cannot be pickled: dies mid-save
    assert read_checkpoint(path)["epoch"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["last.ckpt"]


def test_checkpoint_that_needs_code_is_refused(tmp_path):
    path = tmp_path / "pickled.ckpt"
    torch.save({"model": torch.nn.Linear(2, 2), "counter": collections.Counter("ab")}, path)
    with pytest.raises(CheckpointError, match="needs unpickling of code"):
        read_checkpoint(path)


def test_missing_and_truncated_checkpoints(tmp_path):
    with pytest.raises(CheckpointError, match="not found"):
        read_checkpoint(tmp_path / "nope.ckpt")
    path = tmp_path / "cut.ckpt"
    atomic_save({"w": torch.randn(1000)}, path)
    path.write_bytes(path.read_bytes()[:500])
    with pytest.raises(CheckpointError, match="truncated or corrupt"):
        read_checkpoint(path)


def test_checkpoint_io_refuses_unsafe_loading(tmp_path):
    io = SafeCheckpointIO()
    io.save_checkpoint({"epoch": 1}, tmp_path / "a.ckpt")
    assert io.load_checkpoint(tmp_path / "a.ckpt")["epoch"] == 1
    with pytest.raises(CheckpointError, match="weights_only=True"):
        io.load_checkpoint(tmp_path / "a.ckpt", weights_only=False)
