"""condgan: conditional GANs on PyTorch Lightning + Hydra + Weights & Biases."""

__version__ = "0.1.0"
