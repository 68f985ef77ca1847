"""A run folder's report: ``python report.py run_dir=<run folder>`` → report.md, report.html, report/*.png|gif."""

from condgan.report.figures import interpolate_latents
from condgan.report.run_folder import RunFolderError
from condgan.report.write import write_report

__all__ = ["RunFolderError", "interpolate_latents", "write_report"]
