"""A run folder's report: ``python report.py run_dir=<run folder>`` → report.md, report.html, report/*.png|gif."""

from condgan.report.run_folder import RunFolderError
from condgan.report.write import write_report
from condgan.sampling import interpolate_latents  # the report's interpolation strip walks with it

__all__ = ["RunFolderError", "interpolate_latents", "write_report"]
