"""`--ray` options checked before any cluster starts: addresses, actor resources, one-line
refusals."""

import pytest

from srlab.cli.main import USAGE_ERROR, main
from srlab.cluster import ClusterError, RaySettings
from srlab.cluster.settings import parse_address


@pytest.mark.parametrize(
    "address", ["local", "auto", "10.0.0.5:6379", "head-node.cluster:6379", "[::1]:6379",
                "ray://head:10001"],
)
def test_addresses_ray_takes(address):
    assert parse_address(address) == address


@pytest.mark.parametrize("text", ["photos/", "in", "head", "photo.png", "http://head:8265"])
def test_inputs_after_ray_are_not_taken_for_addresses(text):
    with pytest.raises(ValueError, match=r"not a Ray address .* put the inputs before --ray"):
        parse_address(text)


def test_an_input_right_after_ray_is_a_usage_error(tmp_path, capsys):
    (tmp_path / "in").mkdir()
    try:
        code = main(["upscale", "-o", str(tmp_path / "out"), "--ray", str(tmp_path / "in")])
    except SystemExit as stop:  # argparse's way out
        code = stop.code
    assert code == USAGE_ERROR
    assert "not a Ray address" in capsys.readouterr().err.strip().splitlines()[-1]


def test_settings_refuse_impossible_resources():
    for bad in ({"actors": 0}, {"cpus_per_actor": 0}, {"gpus_per_actor": -1},
                {"cpus_per_actor": float("nan")}):
        with pytest.raises(ValueError, match="--ray-"):
            RaySettings(**bad)


def test_actor_count_fits_the_cluster_and_the_files():
    cluster = {"CPU": 16.0, "GPU": 2.0}
    assert RaySettings().actor_count(cluster, jobs=1000) == 16
    assert RaySettings().actor_count(cluster, jobs=3) == 3  # no idle actors
    assert RaySettings(cpus_per_actor=4).actor_count(cluster, jobs=1000) == 4
    assert RaySettings(gpus_per_actor=0.5).actor_count(cluster, jobs=1000) == 4
    assert RaySettings(actors=32).actor_count(cluster, jobs=1000) == 32  # an autoscaler may add
    with pytest.raises(ClusterError, match="cannot hold one actor"):
        RaySettings(gpus_per_actor=1).actor_count({"CPU": 8.0}, jobs=10)


def test_a_private_cluster_gets_the_actors_cpus():
    assert RaySettings(actors=2).local_cpus() == 2
    assert RaySettings(actors=3, cpus_per_actor=1.5).local_cpus() == 5
    assert RaySettings(cpus_per_actor=2.5).threads == 2
