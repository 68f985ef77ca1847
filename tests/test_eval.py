"""eval.py end to end on tiny data, its errors, and (slow) its speed on real MNIST."""

import json
import os
import time
from pathlib import Path

import pytest

from condgan.metrics import METRICS
from condgan.metrics.evaluate import evaluate
from condgan.metrics.measure import floor_quality
from condgan.metrics.reference import embedded_test_split
from tests.helpers import ROOT

REAL_DATA_DIR = Path(os.environ.get("CONDGAN_DATA_DIR", ROOT / "data"))


def test_eval_writes_json_and_markdown_next_to_the_checkpoint(run_cli, run_script, tiny_mnist, tmp_path):
    ckpt = run_cli("trainer.max_epochs=1", "test=false") / "checkpoints" / "last.ckpt"
    run_script("eval", f"ckpt_path={ckpt}", "n_per_class=20", f"paths.data_dir={tiny_mnist}")

    report = json.loads((ckpt.parent / "metrics.json").read_text())
    assert report["checkpoint"] == str(ckpt) and (report["dataset"], report["image_size"]) == ("mnist", 28)
    assert report["model"]["n_images"] == 200 and report["floor"]["n_images"] == 200  # the floor: as many real ones
    for part in ("model", "floor"):
        assert set(METRICS) <= set(report[part])
    assert 0 < report["classifier"]["test_accuracy"] <= 1
    table = (ckpt.parent / "metrics.md").read_text()
    assert f"| FID | {report['model']['fid']:.4g} | {report['floor']['fid']:.4g} | lower |" in table
    assert not [p for p in ckpt.parent.iterdir() if p.name.endswith(".tmp")]


def test_eval_is_reproducible(untrained_checkpoint, tiny_mnist):
    first = evaluate(untrained_checkpoint, tiny_mnist, n_per_class=8, seed=3)
    assert evaluate(untrained_checkpoint, tiny_mnist, n_per_class=8, seed=3) == first


def test_eval_says_when_precision_and_recall_average_over_parts(untrained_checkpoint, tiny_mnist):
    counts = embedded_test_split("mnist", str(tiny_mnist.resolve()), 28).labels.bincount()
    most = counts.max().item()  # the test split's largest class sets how many reference-sized parts fit
    for n_per_class, parts in ((most, 1), (3 * most, 3)):
        report = evaluate(untrained_checkpoint, tiny_mnist, n_per_class=n_per_class)
        assert report["precision_recall_parts"] == parts
        table = (untrained_checkpoint.parent / "metrics.md").read_text()
        assert ("Precision and recall are means over 3 disjoint parts" in table) == (parts == 3)


def test_eval_errors_name_the_fix(run_script, tmp_path, tiny_mnist, untrained_checkpoint):
    with pytest.raises(SystemExit, match="no checkpoint given: pass ckpt_path="):
        run_script("eval")
    with pytest.raises(SystemExit, match="Checkpoint not found"):
        run_script("eval", f"ckpt_path={tmp_path / 'nope.ckpt'}")
    with pytest.raises(SystemExit, match=r"python -m condgan.data mnist"):
        run_script("eval", f"ckpt_path={untrained_checkpoint}", f"paths.data_dir={tmp_path / 'empty'}")
    with pytest.raises(SystemExit, match="n_per_class must be at least 1"):
        run_script("eval", f"ckpt_path={untrained_checkpoint}", "n_per_class=0", f"paths.data_dir={tiny_mnist}")


@pytest.mark.slow
@pytest.mark.skipif(
    not (REAL_DATA_DIR / "MNIST" / "raw" / "t10k-images-idx3-ubyte").is_file(),
    reason=f"real MNIST not in {REAL_DATA_DIR} (fetch it with `make data` or set CONDGAN_DATA_DIR)",
)
def test_eval_of_10k_samples_takes_under_a_minute(untrained_checkpoint):
    embedded_test_split.cache_clear()  # time the first measurement of a process
    floor_quality.cache_clear()
    start = time.monotonic()
    report = evaluate(untrained_checkpoint, REAL_DATA_DIR, n_per_class=1000)
    assert time.monotonic() - start < 60
    assert report["floor"]["n_images"] == 10_000 and report["floor"]["fid"] < report["model"]["fid"]
