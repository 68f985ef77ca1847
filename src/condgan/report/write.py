"""``write_report(run_dir)``: report.md, report.html and their figures (report/) inside a run folder."""

from pathlib import Path

from condgan.atomic import atomic_write_bytes
from condgan.errors import UserError
from condgan.report.document import to_html, to_markdown
from condgan.report.run_folder import RunFolder
from condgan.report.sections import (
    INTERPOLATION_PNG,
    LOSS_CURVES_PNG,
    SAMPLES_GIF,
    config_section,
    interpolation_section,
    loss_curves_section,
    metrics_section,
    samples_section,
)

FIGURES_DIR = "report"


def write_report(
    run_dir: str | Path, n_interpolation: int = 8, seed: int = 0, epochs_shown: int = 4
) -> tuple[Path, Path]:
    """Write the report of ``run_dir`` into it; returns the paths of report.md and report.html.

    Raises ``RunFolderError`` when ``run_dir`` is not a run folder. Anything else the folder lacks
    (metrics, checkpoint, sample grids, CSV log) becomes a line in the report naming the command that makes it;
    a file that is there but broken (a last.ckpt that does not load) too, and then, once both files are
    written, ``ReportIncompleteError`` says which.
    """
    run = RunFolder(run_dir)
    figures_dir = run.path / FIGURES_DIR
    figures_dir.mkdir(exist_ok=True)
    for name in (LOSS_CURVES_PNG, SAMPLES_GIF, INTERPOLATION_PNG):
        (figures_dir / name).unlink(missing_ok=True)  # a figure this report cannot redraw must not linger
    sections = [
        config_section(run),
        metrics_section(run),
        loss_curves_section(run, figures_dir),
        samples_section(run, figures_dir, epochs_shown),
        interpolation_section(run, figures_dir, n_interpolation, seed),
    ]
    title = f"Report of run {run.path.name}"
    markdown_path, html_path = run.path / "report.md", run.path / "report.html"
    atomic_write_bytes(markdown_path, to_markdown(title, sections).encode())
    atomic_write_bytes(html_path, to_html(title, sections, run.path).encode())
    if failures := [section.failure for section in sections if section.failure]:
        raise ReportIncompleteError(f"{failures[0]} (wrote {markdown_path} and {html_path} without it)")
    return markdown_path, html_path


class ReportIncompleteError(UserError, RuntimeError):
    """The report is written, but a file of the run folder could not be read; the message names it."""
