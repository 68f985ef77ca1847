from condgan.callbacks.fit_time import FitTime
from condgan.callbacks.loss_curves import LossCurves
from condgan.callbacks.quality import QualityMetrics
from condgan.callbacks.sample_grid import SampleGrid
from condgan.callbacks.timed_checkpoint import TimedCheckpoint

__all__ = ["FitTime", "LossCurves", "QualityMetrics", "SampleGrid", "TimedCheckpoint"]
