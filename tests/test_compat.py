import lightning as L
import pytest
from lightning.pytorch.accelerators import CPUAccelerator
from lightning.pytorch.strategies import DDPStrategy

from condgan.training.compat import devices_from_gpus, gan_ready_strategy
from condgan.training.trainer import Trainer


@pytest.mark.parametrize(
    "gpus, accelerator, devices",
    [
        (0, "cpu", 1),
        ("0", "cpu", 1),
        (1, "gpu", 1),
        (2, "gpu", 2),
        (-1, "gpu", -1),
        ([0, 2], "gpu", [0, 2]),
        ("0,1", "gpu", [0, 1]),
    ],
)
def test_gpus_maps_to_accelerator_and_devices(gpus, accelerator, devices, caplog):
    with caplog.at_level("INFO"):
        assert devices_from_gpus(gpus) == (accelerator, devices)
    assert "Lightning 1.x" in caplog.text


def test_trainer_takes_gpus_zero_and_auto_precision():
    trainer = Trainer(gpus=0, max_epochs=2, logger=False, enable_checkpointing=False)
    assert isinstance(trainer, L.Trainer) and trainer.max_epochs == 2
    assert isinstance(trainer.accelerator, CPUAccelerator)
    assert trainer.precision in ("32-true", "bf16-mixed")  # "auto" resolved, never passed to Lightning


def test_ddp_names_get_the_gan_settings_and_others_pass_through():
    strategy = gan_ready_strategy("ddp_spawn")
    assert isinstance(strategy, DDPStrategy)
    assert gan_ready_strategy("auto") == "auto" and gan_ready_strategy(strategy) is strategy
    trainer = Trainer(accelerator="cpu", devices=2, strategy="ddp", logger=False, enable_checkpointing=False)
    assert isinstance(trainer.strategy, DDPStrategy)
