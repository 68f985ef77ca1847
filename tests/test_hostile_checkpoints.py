"""Checkpoints made by an attacker or mangled on the way: nothing they name runs, every command refuses them in
one line that names the file, and no file appears anywhere."""

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import torch

from condgan.checkpoints.io import CheckpointError, UnsafeCheckpointError, load_generator, read_checkpoint
from condgan.inference.runtime import load_inference_model
from tests.helpers import cli_args, compose_config

MARKER = "pwned.txt"  # what every crafted config tries to create, relative to the current folder


def crafted_generator_configs(marker: Path) -> dict[str, tuple[dict, str]]:
    """name: (the model.generator config of a crafted checkpoint, what the refusal says)."""
    names_code = "which is not a condgan network"
    dcgan = {
        "_target_": "condgan.networks.DCGANGenerator",
        "latent_dim": 100,
        "num_classes": 10,
        "image_shape": [1, 28, 28],
        "base_channels": 32,
        "conditioning": "concat",
    }
    opener = {"_target_": "builtins.open", "_args_": [str(marker), "w"]}
    return {
        "builtins.open": (opener, f"names builtins.open, {names_code}"),
        "torch.save": (
            {"_target_": "torch.save", "_args_": [{"x": 1}, str(marker)]},
            f"names torch.save, {names_code}",
        ),
        "subprocess.run": ({"_target_": "subprocess.run", "_args_": [["touch", str(marker)]]}, "subprocess.run"),
        "os.system": ({"_target_": "os.system", "_args_": [f"touch {marker}"]}, f"names os.system, {names_code}"),
        "nested _target_": ({**dcgan, "conditioning": opener}, "has model.generator.conditioning._target_"),
        "_partial_ in a kwarg": (
            {**dcgan, "conditioning": {**opener, "_partial_": True}},
            "has model.generator.conditioning._target_",
        ),
        "_partial_ on the network": ({**dcgan, "_partial_": True}, "has model.generator._partial_"),
        "_args_ on the network": ({**dcgan, "_args_": [str(marker)]}, "has model.generator._args_"),
        "_recursive_": ({**dcgan, "_recursive_": False}, "has model.generator._recursive_"),
        "a network outside the allow-list": (
            {"_target_": "torch.nn.Linear", "_args_": [1, 1]},
            "names torch.nn.Linear",
        ),
        "a tensor for a size": (
            {**dcgan, "latent_dim": torch.tensor(100)},
            "holds a Tensor at model.generator.latent_dim",
        ),
    }


def craft(base: Path, folder: Path, generator_cfg: dict) -> Path:
    """A copy of the checkpoint ``base`` whose generator config is ``generator_cfg``; loads with weights_only."""
    ckpt = torch.load(base, weights_only=True)
    ckpt["hyper_parameters"]["model"]["generator"] = generator_cfg
    path = folder / "checkpoints" / "last.ckpt"
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(ckpt, path)
    assert isinstance(read_checkpoint(path), dict)  # a valid weights-only file: the attack is in the config
    return path


def files_under(folder: Path) -> set[Path]:
    return set(folder.rglob("*"))


@pytest.mark.parametrize("case", list(crafted_generator_configs(Path(MARKER))))
def test_a_crafted_config_runs_nothing_and_is_refused(untrained_checkpoint, tmp_path, monkeypatch, case):
    monkeypatch.chdir(tmp_path)
    generator_cfg, says = crafted_generator_configs(tmp_path / MARKER)[case]
    path = craft(untrained_checkpoint, tmp_path / "shared", generator_cfg)
    before = files_under(tmp_path)
    for load in (load_generator, load_inference_model):  # what generate/eval/export/report, and serve call
        with pytest.raises(UnsafeCheckpointError, match=f"^refusing {path}: its config ") as refused:
            load(path)
        assert says in str(refused.value) and "\n" not in str(refused.value)
    assert files_under(tmp_path) == before and not (tmp_path / MARKER).exists()


def test_the_allow_list_takes_both_spellings_of_a_condgan_network(untrained_checkpoint, tmp_path):
    ckpt = torch.load(untrained_checkpoint, weights_only=True)
    generator_cfg = dict(ckpt["hyper_parameters"]["model"]["generator"])
    generator_cfg["_target_"] = "condgan.networks.dcgan.DCGANGenerator"  # the module path, as Hydra also takes it
    path = craft(untrained_checkpoint, tmp_path, generator_cfg)
    generator, _ = load_generator(path)
    assert type(generator).__name__ == "DCGANGenerator"


def test_sizes_the_weights_do_not_match_are_refused_before_anything_is_allocated(untrained_checkpoint, tmp_path):
    ckpt = torch.load(untrained_checkpoint, weights_only=True)
    generator_cfg = {**ckpt["hyper_parameters"]["model"]["generator"], "base_channels": 2**20}  # ~10^12 weights
    path = craft(untrained_checkpoint, tmp_path, generator_cfg)
    with pytest.raises(CheckpointError, match=f"^{path}: its weights do not fit the DCGANGenerator its config"):
        load_generator(path)


def test_a_checkpoint_listing_files_outside_its_folder_is_not_resumed(tmp_path):
    from condgan.checkpoints.io import check_checkpoint_callback_paths

    victim = tmp_path / "precious.txt"
    state = {"dirpath": str(tmp_path / "run" / "checkpoints"), "best_k_models": {str(victim): 1.0}}
    with pytest.raises(UnsafeCheckpointError, match=r"lists .*precious\.txt.*, outside its checkpoint folder"):
        check_checkpoint_callback_paths({"callbacks": {"ModelCheckpoint{...}": state}}, tmp_path / "x.ckpt")
    state["best_k_models"] = {str(tmp_path / "run" / "checkpoints" / "epoch_001.ckpt"): 1.0}
    check_checkpoint_callback_paths({"callbacks": {"ModelCheckpoint{...}": state}}, tmp_path / "x.ckpt")


def command_line(entry_point: str, ckpt: Path, tmp_path: Path, data_dir: Path) -> list[str]:
    """The command a user types for ``entry_point``, given the checkpoint ``ckpt``."""
    condgan = [str(Path(sys.executable).with_name("condgan"))]
    return {
        "generate": [*condgan, "generate", f"ckpt_path={ckpt}", "digit=5", "n=4", "out=five.png"],
        "eval": [*condgan, "eval", f"ckpt_path={ckpt}", f"paths.data_dir={data_dir}"],
        "export": [*condgan, "export", f"ckpt_path={ckpt}", "format=onnx"],
        "serve": [*condgan, "serve", f"ckpt_path={ckpt}", "port=8765"],
        "report": [*condgan, "report", f"run_dir={ckpt.parent.parent}"],
        "run.py (resume)": [
            sys.executable,
            *cli_args(data_dir, tmp_path / "resumed", f"ckpt_path={ckpt}", "trainer.max_epochs=1"),
        ],
    }[entry_point]


ENTRY_POINTS = [  # ~5 s of CPU each, mostly imports: two in the fast suite, the rest in-process there (below)
    "generate",
    "run.py (resume)",
    *(pytest.param(name, marks=pytest.mark.slow) for name in ("eval", "export", "serve", "report")),
]


@pytest.mark.parametrize("entry_point", ENTRY_POINTS)
def test_every_command_refuses_a_crafted_checkpoint_in_one_line(
    entry_point, untrained_checkpoint, tiny_mnist, child_env, tmp_path
):
    marker = tmp_path / MARKER
    ckpt = craft(untrained_checkpoint, tmp_path / "shared", {"_target_": "builtins.open", "_args_": [str(marker), "w"]})
    (ckpt.parent.parent / "config.yaml").write_text("datamodule: {dataset: mnist, image_size: 28}\nseed: 1\n")
    before = files_under(tmp_path)
    env = {key: value for key, value in child_env.items() if key != "HYDRA_FULL_ERROR"}
    done = subprocess.run(
        command_line(entry_point, ckpt, tmp_path, tiny_mnist),
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 1, done.stderr[-3000:]
    assert done.stderr.strip().splitlines()[-1] == (
        f"error: refusing {ckpt}: its config names builtins.open, which is not a condgan network"
    )
    assert "Traceback" not in done.stdout + done.stderr
    created = files_under(tmp_path) - before
    assert not marker.exists()
    assert all({"resumed", "report"} & set(p.parts) for p in created), created  # run.py's and condgan report's folders


NOT_CHECKPOINTS = {  # name: (make the file at path, what the one line says after the path)
    "text": (lambda p: p.write_text("hello, I am not a checkpoint\n"), " is not a checkpoint: torch.save writes a zip"),
    "random bytes": (lambda p: p.write_bytes(os.urandom(4096)), " is not a checkpoint: torch.save writes a zip"),
    "a folder": (lambda p: p.mkdir(), " is a folder, not a checkpoint file: pass the file itself"),
    "zero bytes": (lambda p: p.write_bytes(b""), " is empty (0 bytes): a copy or download of it was cut short"),
    "truncated": (None, "Cannot read checkpoint "),
    "wrong tensor shape": (None, ": its weights do not fit "),
    "crafted": (None, "its config names builtins.open, which is not a condgan network"),
}


def make_not_checkpoint(case: str, base: Path, path: Path) -> Path:
    make, _ = NOT_CHECKPOINTS[case]
    if make is not None:
        make(path)
    elif case == "truncated":
        path.write_bytes(base.read_bytes()[:5000])
    elif case == "crafted":
        ckpt = torch.load(base, weights_only=True)
        ckpt["hyper_parameters"]["model"]["generator"] = {"_target_": "builtins.open", "_args_": [MARKER, "w"]}
        torch.save(ckpt, path)
    else:
        ckpt = torch.load(base, weights_only=True)
        name = next(k for k in ckpt["state_dict"] if k.endswith("weight"))
        ckpt["state_dict"][name] = torch.zeros(3, 3)
        torch.save(ckpt, path)
    return path


def run_main(command: str, monkeypatch, *args: str) -> SystemExit:
    """Run ``condgan <command>`` in this process, as a user would (no HYDRA_FULL_ERROR); return its exit."""
    from condgan.cli import main

    monkeypatch.delenv("HYDRA_FULL_ERROR", raising=False)
    monkeypatch.setattr(sys, "argv", list(sys.argv))  # the command sets sys.argv for Hydra
    with pytest.raises(SystemExit) as exited:
        main([command, *args])
    return exited.value


@pytest.mark.parametrize("case", list(NOT_CHECKPOINTS))
def test_a_file_that_is_not_a_checkpoint_gets_one_line_from_every_command(
    case, untrained_checkpoint, tiny_mnist, tmp_path, monkeypatch, capsys
):
    monkeypatch.chdir(tmp_path)
    path = make_not_checkpoint(case, untrained_checkpoint, tmp_path / "x.ckpt")
    says = NOT_CHECKPOINTS[case][1]
    exits = [
        run_main("generate", monkeypatch, f"ckpt_path={path}", "digit=5", "n=4", "out=five.png"),
        run_main("eval", monkeypatch, f"ckpt_path={path}", f"paths.data_dir={tiny_mnist}"),
        run_main("export", monkeypatch, f"ckpt_path={path}", "format=onnx"),
    ]
    served = run_main("serve", monkeypatch, f"ckpt_path={path}")
    if case == "crafted":  # report.py notes an unreadable checkpoint in the report, but refuses one that names code
        run_dir = tmp_path / "run"
        (run_dir / "checkpoints").mkdir(parents=True)
        (run_dir / "config.yaml").write_text("datamodule: {dataset: mnist, image_size: 28}\nseed: 1\n")
        in_run = run_dir / "checkpoints" / "last.ckpt"
        in_run.write_bytes(path.read_bytes())
        exits.append(run_main("report", monkeypatch, f"run_dir={run_dir}"))
    for exited in [*exits, served]:
        message = str(exited.code)
        assert message.startswith("error: ") and says in message and "\n" not in message
        assert str(path) in message or (case == "crafted" and str(in_run) in message)
    assert "Traceback" not in "".join(capsys.readouterr())
    assert not (tmp_path / MARKER).exists()
    assert {p.name for p in tmp_path.iterdir()} <= {"x.ckpt", "run"}  # no sample, export or metrics file


def resumable_checkpoint(folder: Path) -> Path:
    """A checkpoint with what resuming needs (every weight of the model, counters, optimizer states), untrained."""
    import hydra
    from omegaconf import OmegaConf

    cfg = compose_config("trainer.accelerator=cpu", "datamodule.image_size=28", output_dir=folder)
    model = hydra.utils.instantiate(cfg.model)
    path = folder / "resumable.ckpt"
    torch.save(
        {
            "hyper_parameters": OmegaConf.to_container(cfg, resolve=True),
            "state_dict": model.state_dict(),
            "epoch": 0,
            "global_step": 0,
            "loops": {},
            "optimizer_states": [],
        },
        path,
    )
    return path


@pytest.mark.parametrize("case", ["text", "a folder", "wrong tensor shape"])
def test_run_py_refuses_a_bad_ckpt_path_before_training(case, tiny_mnist, tmp_path, monkeypatch, capsys):
    path = make_not_checkpoint(case, resumable_checkpoint(tmp_path), tmp_path / "x.ckpt")
    exited = run_main("train", monkeypatch, *cli_args(tiny_mnist, tmp_path / "run", f"ckpt_path={path}")[1:])
    assert str(exited.code).startswith(f"error: {path}") and NOT_CHECKPOINTS[case][1] in str(exited.code)
    assert "Traceback" not in "".join(capsys.readouterr())
    assert not (tmp_path / "run" / "checkpoints").exists()  # refused before the first step
    if case != "wrong tensor shape":  # the file alone says it: refused before Hydra makes the run folder
        assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("case", ["text", "zero bytes", "truncated", "a folder"])
def test_a_report_whose_checkpoint_does_not_load_is_written_and_exits_1(
    case, untrained_checkpoint, tmp_path, monkeypatch
):
    run_dir = tmp_path / "run"
    (run_dir / "checkpoints").mkdir(parents=True)
    (run_dir / "config.yaml").write_text("datamodule: {dataset: mnist, image_size: 28}\nseed: 1\n")
    last = make_not_checkpoint(case, untrained_checkpoint, run_dir / "checkpoints" / "last.ckpt")
    exited = run_main("report", monkeypatch, f"run_dir={run_dir}")
    message = str(exited.code)
    assert message.startswith(f"error: {last}") or message.startswith(f"error: Cannot read checkpoint {last}")
    assert NOT_CHECKPOINTS[case][1] in message and "\n" not in message
    assert message.endswith(f"(wrote {run_dir / 'report.md'} and {run_dir / 'report.html'} without it)")
    assert "does not load" in (run_dir / "report.md").read_text()  # what it could, it wrote


@pytest.mark.parametrize("key, value", [("base_channels", 10**12), ("latent_dim", 10**30)])
def test_sizes_beyond_any_network_are_refused_in_one_line_by_every_command(
    key, value, untrained_checkpoint, tiny_mnist, tmp_path, monkeypatch
):
    ckpt = torch.load(untrained_checkpoint, weights_only=True)
    path = craft(
        untrained_checkpoint, tmp_path / "shared", {**ckpt["hyper_parameters"]["model"]["generator"], key: value}
    )
    monkeypatch.chdir(tmp_path)
    before = files_under(tmp_path)
    for command, *args in (
        ("generate", "digit=5", "out=five.png"),
        ("eval", f"paths.data_dir={tiny_mnist}"),
        ("export", "format=onnx"),
        ("serve",),
    ):
        exited = run_main(command, monkeypatch, f"ckpt_path={path}", *args)
        assert str(exited.code) == (
            f"error: refusing {path}: its config has model.generator.{key}={value}, beyond any network condgan "
            "builds (sizes up to 1048576); the file was changed after training"
        ), command
    assert files_under(tmp_path) == before


def deflated_copy(path: Path, out: Path) -> Path:
    """``path``'s archive with every entry deflated: what torch.save never writes, and a zip bomb's way."""
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for entry in source.infolist():
            target.writestr(entry.filename, source.read(entry))
    return out


def peak_rss_mb(args: list[str], env: dict[str, str], cwd: Path) -> tuple[float, str]:
    """The peak resident memory of the command ``args`` and its children (MB), and its stderr."""
    probe = (
        "import resource, subprocess, sys\n"
        f"done = subprocess.run({args!r}, capture_output=True, text=True)\n"
        "sys.stderr.write(done.stderr)\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], env=env, cwd=cwd, capture_output=True, text=True, timeout=300)
    return float(done.stdout.strip()), done.stderr


def test_a_compressed_payload_is_refused_before_it_is_unpacked(untrained_checkpoint, child_env, tmp_path):
    ckpt = torch.load(untrained_checkpoint, weights_only=True)
    ckpt["extra"] = torch.zeros(64, 2**20)  # 256 MiB of zeros: about 250 kB deflated
    torch.save(ckpt, tmp_path / "stored.ckpt")
    bomb = deflated_copy(tmp_path / "stored.ckpt", tmp_path / "bomb.ckpt")
    (tmp_path / "stored.ckpt").unlink()
    assert bomb.stat().st_size < 4 * 2**20  # the generator's weights and a few kB of zeros
    generate = [str(Path(sys.executable).with_name("condgan")), "generate", "digit=5"]
    clean_mb, _ = peak_rss_mb([*generate, f"ckpt_path={untrained_checkpoint}"], child_env, tmp_path)
    bomb_mb, stderr = peak_rss_mb([*generate, f"ckpt_path={bomb}"], child_env, tmp_path)
    assert stderr.strip().splitlines()[-1].startswith(f"error: refusing {bomb}: its archive holds compressed entries")
    assert bomb_mb < clean_mb + 64, (bomb_mb, clean_mb)  # nothing of the 256 MiB was unpacked
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bomb.ckpt", "samples.npz"]  # the clean run's output
