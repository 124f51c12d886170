"""Training records: read back from the run directory the trainer wrote, resumes included."""


import pytest

from srlab.cli.main import main
from srlab.train.record import read_log, read_metrics, read_record
from tests.train.test_trainer import run

LOG = """\
2026-01-01 10:00:00,000 training from iteration 0 on cpu, 2 threads (Some CPU)
2026-01-01 10:05:00,000 checkpoint a
2026-01-01 10:10:00,000 checkpoint b
2026-01-01 12:00:00,000 resumed from b at iteration 200
2026-01-01 12:00:01,000 training from iteration 200 on NVIDIA H100
2026-01-01 12:30:00,000 checkpoint runs/x/checkpoints/iter_00000900
2026-01-01 12:30:09,000 interrupted at iteration 907; saving a checkpoint
"""


def test_wall_time_sums_process_spans_and_skips_the_pauses(tmp_path):
    (tmp_path / "train.log").write_text(LOG)
    log = read_log(tmp_path / "train.log")
    assert (log.seconds, log.processes, log.last_iteration) == (600 + 1809, 2, 907)
    assert log.hardware == ["cpu, 2 threads (Some CPU)", "NVIDIA H100"]


def test_later_values_win_at_iterations_logged_again_after_a_resume(tmp_path):
    path = tmp_path / "metrics.csv"
    path.write_text("iteration,name,value\n10,train/l1,0.5\n20,train/l1,0.4\n"
                    "20,train/l1,0.3\n30,train/l1,0.2\n")
    assert read_metrics(path) == {"train/l1": {10: 0.5, 20: 0.3, 30: 0.2}}


def test_record_of_a_resumed_run(hr_folder, tiny_config, tmp_path):
    raw = tiny_config(hr_folder)
    run(raw, tmp_path / "r", **{"train.iterations": 10})
    run(raw, tmp_path / "r")
    record = read_record(tmp_path / "r")
    assert record.iterations == 20 and record.processes == 2
    assert len(record.hardware) == 1 and record.hardware[0].startswith("cpu, ")
    assert list(record.validation) == [10, 20]
    assert set(record.bicubic) >= {"psnr_y", "ssim_y"}
    assert "train/l1" in record.losses and "train/data_wait_share" not in record.losses
    assert sorted(record.losses["train/l1"]) == [5, 10, 15, 20]

    out = tmp_path / "doc"
    assert main(["record", str(tmp_path / "r"), "-o", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["record.md", "curves.png", "config.yaml", "metrics.csv"])
    text = (out / "record.md").read_text()
    assert "- iterations: 20" in text and "| 20 |" in text
    assert (out / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(["record", str(tmp_path / "r"), "-o", str(out)]) == 255  # nothing overwritten
    assert main(["record", str(tmp_path / "r"), "-o", str(out), "--overwrite"]) == 0


def test_a_folder_that_is_no_run_is_refused(tmp_path):
    with pytest.raises(ValueError, match="not a training run"):
        read_record(tmp_path)
