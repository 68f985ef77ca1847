from condgan.callbacks.loss_curves import LossCurves
from condgan.callbacks.sample_grid import SampleGrid
from condgan.callbacks.timed_checkpoint import TimedCheckpoint

__all__ = ["LossCurves", "SampleGrid", "TimedCheckpoint"]
