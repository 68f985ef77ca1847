"""A run folder's report: ``condgan report run_dir=<run folder>`` → report.md, report.html, report/*.png|gif."""

from condgan.inference.sampling import interpolate_latents_tensor  # the report's interpolation strip walks with it
from condgan.report.run_folder import RunFolderError
from condgan.report.write import write_report

__all__ = ["RunFolderError", "interpolate_latents_tensor", "write_report"]
