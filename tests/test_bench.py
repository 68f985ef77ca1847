"""The bench scripts' bookkeeping: epochs counted from the CSV log, sections rewritten in place."""

from pathlib import Path

import pytest

from bench import _report
from bench.quality import epochs_trained, read_log


def write_metrics(run_dir: Path, rows: list[tuple[int, int, str]]) -> None:
    (run_dir / "csv").mkdir(parents=True)
    lines = ["epoch,step,train/g_loss,val/fid"] + [f"{epoch},{step},{loss},{fid}" for epoch, step, loss, fid in rows]
    (run_dir / "csv" / "metrics.csv").write_text("\n".join(lines) + "\n")


def test_epochs_trained_counts_a_last_epoch_cut_by_max_time_as_a_fraction(tmp_path):
    # 20 global steps per epoch; max_time stopped epoch 3 at step 68, whose validation still ran.
    rows = [(0, 10, 1.0, ""), (0, 20, "", 50.0), (1, 40, "", 30.0), (2, 60, "", 20.0), (3, 68, 0.9, ""), (3, 68, "", 19.0)]
    write_metrics(tmp_path, rows)
    assert epochs_trained(read_log(tmp_path)) == pytest.approx(3.4)


def test_epochs_trained_whole_epochs(tmp_path):
    write_metrics(tmp_path, [(0, 5, 1.0, ""), (0, 10, "", 9.0), (1, 20, "", 8.0)])
    assert epochs_trained(read_log(tmp_path)) == pytest.approx(2.0)


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


def test_write_section_records_the_command_as_it_is_typed(tmp_path, monkeypatch):
    monkeypatch.setattr(_report, "BENCHMARKS_MD", tmp_path / "benchmarks.md")
    monkeypatch.setattr("sys.argv", [str(_report.BENCHMARKS_MD.parent / "bench" / "quality.py"), "--budget", "60"])
    _report.write_section("a", "body")  # sys.argv[0] of `python -m bench.quality` is the module's file
    assert "with `python -m bench.quality --budget 60`." in (tmp_path / "benchmarks.md").read_text()
