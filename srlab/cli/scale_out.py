"""`srlab upscale --shard I/N` and `--ray [ADDRESS]`: the options that take a batch beyond one
process, kept apart from the command's own code (docs/scaling.md)."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from typing import Any

from srlab.cluster import RaySettings, run_batch_on_ray
from srlab.cluster.settings import LOCAL, parse_address
from srlab.infer.batch import BatchReport, Job, run_batch
from srlab.infer.shard import Shard, parse_shard, select_shard


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("scaling out (docs/scaling.md)")
    group.add_argument(
        "--shard", type=_argument(parse_shard), default=None, metavar="I/N",
        help="upscale only shard I of N (1 <= I <= N), a fixed part of the inputs chosen by "
             "their output path; N copies with I = 1..N cover every input once. 'auto' takes "
             "I and N from a Slurm array task (--array=1-N or 0-(N-1))",
    )
    group.add_argument(
        "--ray", nargs="?", const=LOCAL, default=None, type=_argument(parse_address),
        metavar="ADDRESS",
        help="run on Ray actors that each hold the model: without ADDRESS on a private cluster "
             "of this machine, else on the cluster at auto, HOST:PORT or ray://HOST:PORT "
             "(needs pip install 'srlab[cluster]'; paths must be the same on every node)",
    )
    group.add_argument("--ray-actors", type=int, default=None, metavar="N",
                       help="actors (model copies) at once (default: as many as fit)")
    group.add_argument("--ray-cpus", type=float, default=1.0, metavar="C",
                       help="CPUs per actor, also its PyTorch threads (default: %(default)s)")
    group.add_argument("--ray-gpus", type=float, default=None, metavar="G",
                       help="GPUs per actor (default: 1 with --device cuda, else 0)")


def _argument(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    """An argparse type that keeps the parser's own one-line message (argparse would replace a
    ValueError's text with 'invalid value')."""

    def convert(text: str) -> Any:
        try:
            return parse(text)
        except ValueError as err:
            raise argparse.ArgumentTypeError(str(err)) from None

    convert.__name__ = parse.__name__
    return convert


def this_shard(jobs: list[Job], args: argparse.Namespace) -> list[Job]:
    """The jobs of `--shard` (all of them without it)."""
    shard: Shard | None = args.shard
    return jobs if shard is None else select_shard(jobs, shard, args.output)


def on_one_machine(args: argparse.Namespace) -> bool:
    """Whether every process writing to OUT runs on this machine (no --shard, --ray only on a
    private cluster): only then can the temporary files of killed runs be told from those of
    running writers, by their process ids."""
    return args.shard is None and args.ray in (None, LOCAL)


def batch_runner(args: argparse.Namespace) -> Callable[..., BatchReport]:
    """`run_batch`, or with --ray a function called the same way that runs the jobs on Ray."""
    if args.ray is None:
        return run_batch
    gpus = args.ray_gpus
    if gpus is None:
        gpus = 1.0 if args.device.startswith("cuda") else 0.0
    if args.device.startswith("cuda") and not gpus:
        raise ValueError("--device cuda with --ray-gpus 0: the actors would hold no GPU")
    settings = RaySettings(
        address=args.ray, actors=args.ray_actors, cpus_per_actor=args.ray_cpus,
        gpus_per_actor=gpus,
    )

    def run_on_ray(
        jobs: Sequence[Job],
        upscaler: Any,
        *,
        report: Callable[[str], None],
        on_done: Callable[[Job], None] | None = None,
        on_tile: Callable[[], None] | None = None,
        on_start: Callable[[Job], None] | None = None,
        **batch_options: Any,
    ) -> BatchReport:
        del on_tile, on_start  # tiles and starts happen on the actors; only results come back
        return run_batch_on_ray(
            jobs, upscaler, settings=settings, batch_options=batch_options, report=report,
            on_done=on_done,
        )

    return run_on_ray
