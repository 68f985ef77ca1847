"""docs/scaling.md's multi-node lines, simulated on one machine: two "nodes" of one CPU process each on 127.0.0.1.

torchrun: two launchers side by side (node ranks 0 and 1), as on two machines. SLURM: two tasks started with the
SLURM_* variables that srun would set. Each asserts one run folder written by global rank 0, disjoint shards and
the same global step on both ranks.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from condgan.checkpoints.io import read_checkpoint
from tests.helpers import ROOT, compose_config
from tests.helpers.local_server import free_loopback_port

pytestmark = pytest.mark.e2e
TWO_NODES = ("trainer=ddp_cpu", "trainer.devices=1", "trainer.num_nodes=2")
TINY = (
    "datamodule.val_size=64",
    "trainer.max_epochs=1",
    "++trainer.limit_train_batches=3",
    "++trainer.limit_val_batches=1",
    "++trainer.limit_test_batches=1",
)


def node_args(data_dir: Path, run_dir: Path, seen_dir: Path) -> list[str]:
    """run.py's arguments as docs/scaling.md writes them, on the tiny data, recording what each rank saw."""
    return [
        *TWO_NODES,
        f"hydra.run.dir={run_dir}",
        f"paths.data_dir={data_dir}",
        *TINY,
        "+callbacks.seen._target_=tests.helpers.callbacks.RecordSeenImages",
        f"+callbacks.seen.dirpath={seen_dir}",
    ]


def start_both(commands: list[list[str]], envs: list[dict[str, str]], logs: Path) -> None:
    logs.mkdir()
    processes = []
    for rank, (command, env) in enumerate(zip(commands, envs, strict=True)):
        log = (logs / f"node{rank}.log").open("w")
        processes.append(subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT))
    try:
        codes = [p.wait(timeout=300) for p in processes]
    finally:
        for p in processes:
            p.kill()
    assert codes == [0, 0], "\n".join((logs / f"node{r}.log").read_text()[-3000:] for r in range(2))


def check_world(run_dir: Path, seen_dir: Path) -> None:
    batch = compose_config(output_dir=run_dir).datamodule.batch_size  # the default's global batch
    ranks = [json.loads((seen_dir / f"rank{r}.json").read_text()) for r in range(2)]
    assert all(r["world_size"] == 2 for r in ranks)
    assert ranks[0]["global_step"] == ranks[1]["global_step"] > 0
    assert not set(ranks[0]["seen"]) & set(ranks[1]["seen"])  # each rank its own shard
    assert len(ranks[0]["seen"]) == len(ranks[1]["seen"]) == 3 * batch // 2  # 3 batches, half on each rank
    assert sorted(p.name for p in (run_dir / "checkpoints").iterdir()) == ["epoch_000.ckpt", "last.ckpt"]
    assert read_checkpoint(run_dir / "checkpoints" / "last.ckpt")["global_step"] == ranks[0]["global_step"]
    assert len(list((run_dir / "wandb").glob("offline-run-*"))) == 1  # the W&B run of global rank 0 alone
    assert sorted(p.name for p in run_dir.parent.iterdir()) == ["logs", "run", "seen"]  # no second run folder


def test_torchrun_two_nodes_on_loopback(tiny_env, tiny_data_dir, tmp_path):
    run_dir, seen_dir, port = tmp_path / "run", tmp_path / "seen", free_loopback_port()
    commands = [
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--nnodes=2",
            "--nproc-per-node=1",
            f"--node-rank={rank}",
            "--master-addr=127.0.0.1",
            f"--master-port={port}",
            "run.py",
            *node_args(tiny_data_dir, run_dir, seen_dir),
        ]
        for rank in (0, 1)
    ]
    start_both(commands, [tiny_env, tiny_env], tmp_path / "logs")
    check_world(run_dir, seen_dir)


def test_slurm_two_tasks_on_loopback(tiny_env, tiny_data_dir, tmp_path):
    run_dir, seen_dir, port = tmp_path / "run", tmp_path / "seen", free_loopback_port()
    slurm = {
        "SLURM_NTASKS": "2",
        "SLURM_NTASKS_PER_NODE": "1",
        "SLURM_NNODES": "2",
        "SLURM_JOB_ID": "4242",
        "SLURM_JOB_NAME": "condgan",
        "SLURM_NODELIST": "127.0.0.1",
        "MASTER_ADDR": "127.0.0.1",
        "MASTER_PORT": str(port),
        "SLURM_LOCALID": "0",
    }
    envs = [{**tiny_env, **slurm, "SLURM_PROCID": str(rank), "SLURM_NODEID": str(rank)} for rank in (0, 1)]
    command = [sys.executable, "run.py", *node_args(tiny_data_dir, run_dir, seen_dir)]
    start_both([command, command], envs, tmp_path / "logs")
    check_world(run_dir, seen_dir)
