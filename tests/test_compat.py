import pytest
from omegaconf import OmegaConf

from condgan.compat import map_gpus_flag


@pytest.mark.parametrize(
    "gpus, accelerator, devices",
    [(0, "cpu", 1), (1, "gpu", 1), (2, "gpu", 2), (-1, "gpu", -1), ([0, 2], "gpu", [0, 2]), ("0,1", "gpu", [0, 1])],
)
def test_gpus_maps_to_accelerator_and_devices(gpus, accelerator, devices, caplog):
    cfg = OmegaConf.create({"_target_": "lightning.pytorch.Trainer", "accelerator": "auto", "devices": 1, "gpus": gpus})
    with caplog.at_level("INFO"):
        out = map_gpus_flag(cfg)
    assert "gpus" not in out
    assert out.accelerator == accelerator and OmegaConf.to_object(out).get("devices") == devices
    assert "Lightning 1.x" in caplog.text
    assert cfg.gpus == gpus  # the input is left untouched


def test_no_gpus_flag_changes_nothing():
    cfg = OmegaConf.create({"accelerator": "auto", "devices": 1, "gpus": None})
    assert OmegaConf.to_container(map_gpus_flag(cfg)) == {"accelerator": "auto", "devices": 1}
