"""Training across machines, proven over loopback: two `torchrun --nnodes 2` agents (one gloo
process per "node", rendezvous c10d on 127.0.0.1) train what one process trains with the same
global batch; only rank 0 writes; the run resumes on a different number of processes, and
machines that do not share the run folder are refused rather than silently desynchronised."""

import os
import socket
import subprocess
import sys
from pathlib import Path

import torch
import yaml

from srlab.archs.edsr import EDSR
from srlab.train import checkpoint as ckpt

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def train_command(config: Path, run_dir: Path, *overrides: str) -> list[str]:
    sets = [arg for item in overrides for arg in ("--set", item)]
    return ["-m", "srlab.cli.main", "train", str(config), "--run-dir", str(run_dir), "--quiet",
            *sets]


def run_one_process(config: Path, run_dir: Path, *overrides: str) -> None:
    result = subprocess.run([sys.executable, *train_command(config, run_dir, *overrides)],
                            cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr


def run_two_nodes(
    config: Path, run_dirs: list[Path], *overrides: str, expect_ok: bool = True
) -> list[str]:
    """Two torchrun agents as two machines would start them, each with its own run folder
    (as if their disks were not shared), both on the loopback interface; their outputs."""
    endpoint = f"127.0.0.1:{free_port()}"
    env = {**os.environ, "GLOO_SOCKET_IFNAME": "lo", "OMP_NUM_THREADS": "1"}
    nodes = [
        subprocess.Popen(
            [sys.executable, "-m", "torch.distributed.run", "--nnodes", "2",
             "--node-rank", str(rank), "--nproc-per-node", "1", "--rdzv-backend", "c10d",
             "--rdzv-endpoint", endpoint, "--rdzv-id", "srlab-multinode-test",
             *train_command(config, run_dirs[rank], *overrides)],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        for rank in (0, 1)
    ]
    outputs = [node.communicate(timeout=600)[0] for node in nodes]
    if expect_ok:
        for node, output in zip(nodes, outputs, strict=True):
            assert node.returncode == 0, output
    return outputs


def weights(run_dir: Path, iteration: int) -> dict[str, dict[str, torch.Tensor]]:
    """Every network's weights (g and its EMA) at a checkpoint."""
    return ckpt.load_checkpoint(ckpt.checkpoint_dir(run_dir / "checkpoints", iteration))[0]


def assert_close(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for net in a:
        assert a[net].keys() == b[net].keys()
        for key, value in a[net].items():
            torch.testing.assert_close(b[net][key], value, rtol=1e-5, atol=1e-6)


def test_two_nodes_train_like_one_process_and_resume_on_one(hr_folder, tiny_config, tmp_path):
    cfg = tiny_config(hr_folder, iterations=4, checkpoint_every=2, val_every=100)
    cfg["data"]["val"] = None
    config = tmp_path / "multinode.yaml"
    config.write_text(yaml.safe_dump(cfg))

    run_one_process(config, tmp_path / "one")  # the reference: iterations 1-4, one process

    nodes = [tmp_path / "node0", tmp_path / "node1"]
    run_two_nodes(config, nodes, "train.iterations=2")
    # c10d gives ranks in the order the agents join, not by --node-rank: find rank 0's folder
    written = [d for d in nodes if d.exists()]
    assert len(written) == 1, "exactly one node (rank 0) writes"
    main = written[0]
    assert ckpt.latest_checkpoint(main / "checkpoints") == ckpt.checkpoint_dir(
        main / "checkpoints", 2
    )
    assert (main / "train.log").read_text().splitlines()[0].endswith(" x2")  # one of two
    two_nodes = weights(main, 2)
    assert_close(weights(tmp_path / "one", 2), two_nodes)
    torch.manual_seed(cfg["seed"])  # the trainer seeds before building: the initial state
    start = EDSR(scale=2, blocks=1, features=8).state_dict()
    assert any(not torch.equal(two_nodes["g"][k], v) for k, v in start.items())  # it trained

    # resumed by two nodes that do not share the run folder: rank 0 would start at 2, the
    # other at 0, mixing different iterations' gradients; refused in one line on each rank
    outputs = run_two_nodes(config, nodes, expect_ok=False)
    for output in outputs:
        refusals = [line for line in output.splitlines() if line.startswith("srlab: error:")]
        assert len(refusals) == 1, output
        assert "would start at different iterations (rank 0 at " in refusals[0]
        assert " at 2" in refusals[0] and " at 0" in refusals[0]  # ranks go by joining order
        assert "same run folder" in refusals[0]
    assert ckpt.latest_checkpoint(main / "checkpoints").name == "iter_00000002"

    # resumed by one process: iterations 3-4 continue the same global batch stream
    run_one_process(config, main)
    assert "resumed from" in (main / "train.log").read_text()
    assert_close(weights(tmp_path / "one", 4), weights(main, 4))
