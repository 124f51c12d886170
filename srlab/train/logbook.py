"""The run directory's records: a log file, a long-format metrics CSV and TensorBoard."""

from __future__ import annotations

import csv
import logging
from pathlib import Path

import numpy as np

CONFIG_FILE = "config.yaml"  # the resolved config, written by the trainer
LOG_FILE = "train.log"
METRICS_FILE = "metrics.csv"


class Logbook:
    """Writes only on the main process; other ranks get a silent instance."""

    def __init__(self, run_dir: Path, *, enabled: bool, tensorboard: bool) -> None:
        self.enabled = enabled
        self.logger = logging.getLogger(f"srlab.train.{run_dir.name}")
        self.logger.setLevel(logging.INFO)
        self.logger.propagate = False
        self._csv_file = None
        self._tb = None
        if not enabled:
            return
        handler = logging.FileHandler(run_dir / LOG_FILE)
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
        self.logger.addHandler(handler)
        new = not (run_dir / METRICS_FILE).exists()
        self._csv_file = open(run_dir / METRICS_FILE, "a", newline="")  # noqa: SIM115
        self._csv = csv.writer(self._csv_file)
        if new:
            self._csv.writerow(["iteration", "name", "value"])
        if tensorboard:
            from torch.utils.tensorboard import SummaryWriter

            self._tb = SummaryWriter(run_dir / "tensorboard")

    def info(self, message: str) -> None:
        if self.enabled:
            self.logger.info(message)

    def scalars(self, iteration: int, values: dict[str, float]) -> None:
        if not self.enabled:
            return
        for name, value in values.items():
            self._csv.writerow([iteration, name, f"{value:.6g}"])
            if self._tb is not None:
                self._tb.add_scalar(name, value, iteration)
        self._csv_file.flush()

    def images(self, iteration: int, images: dict[str, np.ndarray]) -> None:
        if self._tb is not None:
            for name, img in images.items():
                self._tb.add_image(name, img, iteration, dataformats="HWC")

    def close(self) -> None:
        for handler in list(self.logger.handlers):
            handler.close()
            self.logger.removeHandler(handler)
        if self._csv_file is not None:
            self._csv_file.close()
        if self._tb is not None:
            self._tb.close()
