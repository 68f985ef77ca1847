from condgan.training.callbacks.batch_size_schedule import BatchSizeSchedule
from condgan.training.callbacks.best_checkpoint import BestCheckpoint
from condgan.training.callbacks.fit_time import FitTime
from condgan.training.callbacks.loss_curves import LossCurves
from condgan.training.callbacks.quality import QualityMetrics
from condgan.training.callbacks.sample_grid import SampleGrid
from condgan.training.callbacks.timed_checkpoint import TimedCheckpoint

__all__ = [
    "BatchSizeSchedule",
    "BestCheckpoint",
    "FitTime",
    "LossCurves",
    "QualityMetrics",
    "SampleGrid",
    "TimedCheckpoint",
]
