"""Running a fit: train(cfg), the Trainer, precision, loggers, console, callbacks, sweeps."""
