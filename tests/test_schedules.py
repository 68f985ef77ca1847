"""model.lr_decay and model.lr_warmup: both learning rates rise from 0 and fall to 0 over the fixed budget, and a
resumed run continues where it was."""

from types import SimpleNamespace

import pytest

from condgan.checkpoints.io import read_checkpoint
from condgan.gan.schedules import budget_batches, decay_factor, lr_factor, ramp


@pytest.mark.parametrize("kind", ["linear", "cosine"])
def test_the_factor_falls_from_one_to_zero(kind):
    factors = [decay_factor(kind, 10, batch) for batch in range(12)]
    assert factors[0] == 1 and factors[10] == factors[11] == pytest.approx(0, abs=1e-12)
    assert factors[5] == pytest.approx(0.5) and factors == sorted(factors, reverse=True)


def test_warm_up_rises_linearly_then_hands_over_to_the_decay():
    assert [lr_factor(None, 4, 0, batch) for batch in range(6)] == [0.25, 0.5, 0.75, 1.0, 1.0, 1.0]
    assert lr_factor("linear", 4, 10, 1) == pytest.approx(0.5 * 0.9)
    assert lr_factor("linear", 0, 10, 5) == pytest.approx(0.5)  # no warm-up
    assert [ramp(2.0, 0.5, batch, 6) for batch in (0, 3, 6, 9)] == [2.0, 1.25, 0.5, 0.5]


def budget(max_epochs, max_steps, d_steps_per_g=1, batches=100):
    trainer = SimpleNamespace(
        estimated_stepping_batches=None, num_training_batches=batches, max_epochs=max_epochs, max_steps=max_steps
    )
    return budget_batches(trainer, d_steps_per_g)


def test_the_budget_is_in_batches_whichever_limit_ends_the_fit_first():
    assert budget(6, -1) == 600
    assert budget(None, 4320) == 2160  # max_steps counts a D and a G step per batch
    assert budget(-1, 300, d_steps_per_g=2) == 200  # 3 optimizer steps per 2 batches
    assert budget(3, 4320) == 300
    with pytest.raises(ValueError, match=r"model\.lr_decay needs a fixed budget"):
        budget(-1, -1)


def learning_rates(checkpoint) -> list[float]:
    return [group["lr"] for state in checkpoint["optimizer_states"] for group in state["param_groups"]]


def test_a_run_ends_at_zero_and_a_resumed_one_continues_the_decay(run_cli, tmp_path):
    tiny = ("test=false", "model.lr_decay=linear")  # the tiny data: 8 batches an epoch
    full = read_checkpoint(run_cli("trainer.max_epochs=2", *tiny) / "checkpoints" / "last.ckpt")
    assert learning_rates(full) == pytest.approx([0.0, 0.0], abs=1e-12)
    assert [s["last_epoch"] for s in full["lr_schedulers"]] == [16, 16]  # stepped once per batch

    # One epoch, then continued to two in the same folder: the schedulers count on from batch 8 and
    # decay over the new budget (half the rate at batch 8 of 16), ending at 0 like the uninterrupted run
    first = run_cli("trainer.max_epochs=1", *tiny, run_dir=tmp_path / "resumed")
    last = first / "checkpoints" / "last.ckpt"
    assert [s["last_epoch"] for s in read_checkpoint(last)["lr_schedulers"]] == [8, 8]
    assert learning_rates(read_checkpoint(last)) == pytest.approx([0.0, 0.0], abs=1e-12)
    run_cli("trainer.max_epochs=2", *tiny, f"ckpt_path={last}", run_dir=first)
    resumed = read_checkpoint(last)
    assert [s["last_epoch"] for s in resumed["lr_schedulers"]] == [16, 16]
    assert learning_rates(resumed) == pytest.approx([0.0, 0.0], abs=1e-12)


def test_a_warm_up_starts_the_rates_low_and_resumes_where_it_was(run_cli, tmp_path):
    first = run_cli("trainer.max_epochs=1", "test=false", "model.lr_warmup=32", run_dir=tmp_path / "warm")
    last = first / "checkpoints" / "last.ckpt"
    model = read_checkpoint(last)["hyper_parameters"]["model"]
    lr_g, lr_d = model["optimizer_g"]["lr"], model["optimizer_d"]["lr"]
    assert learning_rates(read_checkpoint(last)) == pytest.approx([lr_g * 9 / 32, lr_d * 9 / 32])  # 8 batches run
    run_cli("trainer.max_epochs=2", "test=false", "model.lr_warmup=32", f"ckpt_path={last}", run_dir=first)
    assert learning_rates(read_checkpoint(last)) == pytest.approx([lr_g * 17 / 32, lr_d * 17 / 32])


def test_a_bad_warm_up_is_refused(run_cli):
    with pytest.raises(SystemExit, match=r"model\.lr_warmup must be a whole number of batches >= 0, got -5"):
        run_cli("trainer.max_epochs=1", "test=false", "model.lr_warmup=-5")


def test_an_unknown_decay_is_refused(run_cli):
    with pytest.raises(SystemExit, match=r"model\.lr_decay must be one of linear, cosine or null, got 'step'"):
        run_cli("trainer.max_epochs=1", "test=false", "model.lr_decay=step")


def test_without_decay_the_rates_stay(run_cli):
    last = read_checkpoint(
        run_cli("trainer.max_epochs=1", "test=false", "model.lr_decay=null") / "checkpoints" / "last.ckpt"
    )
    model = last["hyper_parameters"]["model"]
    assert learning_rates(last) == [model["optimizer_g"]["lr"], model["optimizer_d"]["lr"]]
    assert not last.get("lr_schedulers")
