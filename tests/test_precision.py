"""The default budget: precision=auto (bf16 where native, an explicit choice wins), FitTime, max_time as a cap."""

import logging

import pytest
import torch
from omegaconf import OmegaConf

from condgan.checkpoints.io import read_checkpoint
from condgan.training import precision


@pytest.mark.parametrize(
    "flags, expected",
    [
        ("fpu avx2 avx512f avx512_bf16", "bf16-mixed"),
        ("fpu amx_bf16 amx_tile", "bf16-mixed"),
        ("fpu avx2 avx512f", "32-true"),
    ],
)
def test_auto_reads_the_cpu_flags(flags, expected, tmp_path, monkeypatch, caplog):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(f"processor : 0\nflags : {flags}\n")
    real = precision.cpu_bf16_flags
    monkeypatch.setattr(precision, "cpu_bf16_flags", lambda: real(cpuinfo))
    cfg = OmegaConf.create({"accelerator": "cpu", "precision": "auto"})
    with caplog.at_level(logging.INFO, logger="condgan.training.precision"):
        precision.resolve_precision(cfg)
    assert cfg.precision == expected
    assert f"trainer.precision=auto: {expected}" in caplog.text


def test_an_explicit_precision_wins():
    cfg = OmegaConf.create({"accelerator": "cpu", "precision": "32-true"})
    precision.resolve_precision(cfg)
    assert cfg.precision == "32-true"


def test_no_bf16_on_a_gpu_without_it(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert precision.auto_precision("gpu")[0] == "32-true"


def test_the_run_records_what_auto_chose(run_cli):
    run_dir = run_cli("trainer.max_epochs=1", "test=false")
    chosen = read_checkpoint(run_dir / "checkpoints" / "last.ckpt")["hyper_parameters"]["trainer"]["precision"]
    assert chosen == precision.auto_precision("cpu")[0]
    assert f"precision: {chosen}" in (run_dir / "config.yaml").read_text()


def test_fit_time_logs_where_the_wall_clock_went(run_cli):
    import csv

    run_dir = run_cli("trainer.max_epochs=2", "test=false")
    rows = [r for r in csv.DictReader((run_dir / "csv" / "metrics.csv").open()) if r.get("time/fit_s")]
    assert len(rows) == 2
    fit, steps = float(rows[-1]["time/fit_s"]), float(rows[-1]["time/steps_s"])
    assert 0 < steps < fit and float(rows[0]["time/fit_s"]) < fit
    assert "in training steps" in (run_dir / "train.log").read_text()


def test_max_time_says_when_it_cut_the_budget_short(run_cli):
    run_dir = run_cli("trainer.max_epochs=1000", "trainer.max_time=00:00:00:03", "test=false")
    assert "trainer.max_time stopped the fit after" in (run_dir / "train.log").read_text()


@pytest.mark.parametrize("chosen", ["32-true", "bf16-mixed"])
def test_same_seed_same_weights_per_precision(run_cli, tmp_path, chosen):
    """A fixed budget and a seed give one result: two runs end with identical weights (and so metrics)."""
    runs = [
        run_cli("trainer.max_epochs=1", "test=false", f"trainer.precision={chosen}", run_dir=tmp_path / str(i))
        for i in range(2)
    ]
    first, second = (read_checkpoint(r / "checkpoints" / "last.ckpt")["state_dict"] for r in runs)
    assert first.keys() == second.keys() and all(torch.equal(first[k], second[k]) for k in first)
