"""The bench scripts' bookkeeping: epochs and val/fid over time read from the CSV log, sections rewritten in place;
the guided sampler's choice."""

from pathlib import Path

import torch

from bench import _report
from bench.quality import epochs_trained, fid_over_time, read_log


def write_metrics(run_dir: Path, rows: list[tuple]) -> None:
    (run_dir / "csv").mkdir(parents=True)
    lines = ["epoch,step,time/fit_s,val/fid"] + [",".join(map(str, row)) for row in rows]
    (run_dir / "csv" / "metrics.csv").write_text("\n".join(lines) + "\n")


def test_epochs_and_fid_over_the_fit_wall_clock(tmp_path):
    # val/fid every other epoch; FitTime logs the fit's seconds at each epoch end
    write_metrics(
        tmp_path, [(0, 10, "", ""), (0, 20, 12.5, ""), (1, 40, "", 30.0), (1, 40, 25.0, ""), (2, 60, 37.5, "")]
    )
    log = read_log(tmp_path)
    assert epochs_trained(log) == 3
    assert fid_over_time(log) == ([25.0], [30.0])


def test_write_section_replaces_only_its_own_section(tmp_path, monkeypatch):
    doc = tmp_path / "benchmarks.md"
    monkeypatch.setattr(_report, "BENCHMARKS_MD", doc)
    _report.write_section("a", "first A")
    _report.write_section("b", "only B")
    doc.write_text(doc.read_text() + "\nA note kept between runs.\n")
    _report.write_section("a", "second A")
    text = doc.read_text()
    assert "second A" in text and "first A" not in text
    assert "only B" in text and "A note kept between runs." in text
    assert text.count("<!-- a:start -->") == 1


def test_every_speedup_variant_sets_every_switch_itself():
    """The default config turns some switches on (precision=auto, channels_last in model=dcgan_adc): a variant
    that left one unset would time the default's choice under another name."""
    from bench.speedups import VARIANTS

    for name, overrides in VARIANTS.items():
        keys = {o.split("=")[0] for o in overrides}
        assert {"trainer.precision", "model.channels_last"} <= keys, name
        assert ("bf16" in name) == ("trainer.precision=bf16-mixed" in overrides), name
        assert ("channels_last" in name) == ("model.channels_last=true" in overrides), name


def test_a_ddp_speedup_row_keeps_the_global_batch(tmp_path):
    """images/s counts `--batch-size` images a step: under DDP each of the processes must load its share of that
    global batch, not a share of a share."""
    from types import SimpleNamespace

    import hydra

    from bench.speedups import variant_config

    cfg = variant_config(str(tmp_path), "cpu", 64, "bf16-mixed + channels_last", [])
    datamodule = hydra.utils.instantiate(cfg.datamodule)
    datamodule.trainer = SimpleNamespace(world_size=2, current_epoch=0)
    assert datamodule.batch_size_per_device * 2 == 64


class ShadeGenerator(torch.nn.Module):
    """G whose image is its noise's first value everywhere: (B, Z) → (B, 1, 2, 2)."""

    latent_dim, num_classes = 3, 2

    def __init__(self):
        super().__init__()
        self.unused = torch.nn.Parameter(torch.zeros(1))  # sampling finds the device from a parameter

    def forward(self, z, labels):
        return z[:, :1, None, None].expand(-1, 1, 2, 2).tanh()


def brightness(images, labels):  # D: brighter is "more real"
    return images.flatten(1).mean(1)


def test_guided_sampling_keeps_the_candidate_d_scores_highest():
    from bench.guided_sampling import GuidedGenerator

    z, labels = torch.randn(64, 3), torch.randint(0, 2, (64,))
    g = ShadeGenerator()
    assert torch.equal(GuidedGenerator(g, brightness, 1, "best", 1.0)(z, labels), g(z, labels))  # G alone
    best = GuidedGenerator(g, brightness, 8, "best", 1.0)(z, labels)
    assert best.shape == (64, 1, 2, 2)
    assert (best.flatten(1).mean(1) >= g(z, labels).flatten(1).mean(1)).all()  # z itself is one candidate
    cold = GuidedGenerator(g, brightness, 8, "resample", 1e-6)(z, labels)  # resampling at ~0 temperature = best
    assert torch.equal(cold, best)
    warm = GuidedGenerator(g, brightness, 8, "resample", 1.0)(z, labels)
    assert best.mean() > warm.mean() > g(z, labels).mean()  # resampling tilts towards D's favourites, less far
