"""The page end to end in a real headless Chromium (Debian's chromium and chromium-driver,
driven by Selenium): upload a bundled photo, wait for the result, move the W slider and see
the picture change, download it, and get readable messages for bad files.

Screenshots go to the test's temporary folder; with SRLAB_SERVE_SCREENSHOT=PATH the page
with its result is also saved there (how docs/img/serve.png is made).
"""

from __future__ import annotations

import io
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2
import numpy as np
import pytest
from PIL import Image

from srlab.serve.noise_steps import W_STEPS
from tests.serve.conftest import LiveServer
from tests.serve.images import encoded, noise_image

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.select import Select  # noqa: E402
from selenium.webdriver.support.wait import WebDriverWait  # noqa: E402

SAMPLE = Path(__file__).resolve().parents[2] / "samples" / "butterfly_lr.png"
W_STEP = 8  # the slider position the test moves to (W = 0.02)
RUN_TIMEOUT = 300  # seconds for one model run on a busy 2-core machine
CHROMIUM_FLAGS = (
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", "--window-size=1280,900",
)  # fmt: skip


def chromium_paths() -> tuple[str, str]:
    """Debian's browser and its driver, or a skip saying what is missing."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if browser is None or driver is None:
        pytest.skip(
            "headless Chromium not found (apt-get install chromium chromium-driver; "
            ".ci/run installs them)"
        )
    return browser, driver


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[webdriver.Chrome]:
    binary, driver_path = chromium_paths()
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path / 'profile'}")
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    options.add_experimental_option(
        "prefs",
        {"download.default_directory": str(downloads), "download.prompt_for_download": False},
    )
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(driver_path))
    driver.execute_cdp_cmd(
        "Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)}
    )
    try:
        yield driver
    finally:
        driver.quit()


def wait(driver, condition, timeout: float = 30):
    return WebDriverWait(driver, timeout, poll_frequency=0.1).until(
        lambda d: condition(d) or None
    )


def shown_job(driver) -> str | None:
    """The job whose result the page shows (set once the picture has loaded)."""
    return driver.find_element(By.ID, "after").get_attribute("data-job")


def preview(server: LiveServer, job_id: str) -> np.ndarray:
    png = httpx2.get(f"{server.url}/api/jobs/{job_id}/preview.png", timeout=30).content
    return np.asarray(Image.open(io.BytesIO(png)), dtype=np.float64)


def screenshot(driver, folder: Path, name: str) -> Path:
    folder.mkdir(exist_ok=True)
    path = folder / name
    assert driver.save_screenshot(str(path)), f"no screenshot {path}"
    return path


@pytest.mark.limits(max_upload_bytes=256 << 10)
def test_page_end_to_end(browser, live_server: LiveServer, tmp_path: Path) -> None:
    shots = tmp_path / "screenshots"
    browser.get(live_server.url)
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#model option"))
    assert Select(browser.find_element(By.ID, "model")).first_selected_option.text.startswith(
        "gmgbp-r3"
    )
    Select(browser.find_element(By.ID, "scale")).select_by_value("2")
    browser.find_element(By.ID, "file-input").send_keys(str(SAMPLE))
    first = wait(browser, lambda d: shown_job(d), RUN_TIMEOUT)
    screenshot(browser, shots, "1-result.png")
    assert "Done: 240\u00d7176" in browser.find_element(By.ID, "status").text

    slider = browser.find_element(By.ID, "noise")
    slider.send_keys(*[Keys.ARROW_RIGHT] * W_STEP)
    assert browser.find_element(By.ID, "noise-value").text == str(W_STEPS[W_STEP])
    second = wait(
        browser,
        lambda d: (job := shown_job(d)) != first
        and d.find_element(By.ID, "after").get_attribute("data-noise") == str(W_STEPS[W_STEP])
        and job,
        RUN_TIMEOUT,
    )
    change = np.abs(preview(live_server, second) - preview(live_server, first)).mean()
    assert change > 1.0, f"moving W changed the picture by only {change:.3f} / 255 on average"
    page_shot = screenshot(browser, shots, "2-after-w.png")
    if os.environ.get("SRLAB_SERVE_SCREENSHOT"):
        shutil.copyfile(page_shot, os.environ["SRLAB_SERVE_SCREENSHOT"])

    browser.find_element(By.ID, "zoom-1").click()
    screenshot(browser, shots, "3-one-to-one.png")
    browser.find_element(By.ID, "download").click()
    downloads = tmp_path / "downloads"
    done = wait(
        browser,
        lambda d: [p for p in downloads.iterdir() if p.suffix == ".png"]
        if not any(p.suffix == ".crdownload" for p in downloads.iterdir()) else None,
    )
    (downloaded,) = done
    with Image.open(downloaded) as image:
        assert (image.size, image.mode) == ((240, 176), "RGB")
    assert downloaded.name == f"butterfly_lr-gmgbp-r3-x2-w{W_STEPS[W_STEP]:g}-seed0.png"
    assert downloaded.read_bytes() == (live_server.out / "results" / downloaded.name).read_bytes()

    # bad files: a readable message on the page, and the server goes on
    (tmp_path / "empty.png").write_bytes(b"")
    browser.find_element(By.ID, "file-input").send_keys(str(tmp_path / "empty.png"))
    message = wait(browser, lambda d: d.find_element(By.ID, "message").text)
    assert message.startswith("cannot read empty.png: file is empty"), message
    big = tmp_path / "big.png"
    big.write_bytes(encoded(noise_image(300, 300, 3), "PNG"))
    browser.find_element(By.ID, "file-input").send_keys(str(big))
    wait(browser, lambda d: "big.png is" in d.find_element(By.ID, "message").text)
    assert "accepts at most 256.0 KiB" in browser.find_element(By.ID, "message").text
    screenshot(browser, shots, "4-bad-files.png")
    assert httpx2.get(f"{live_server.url}/api/models", timeout=30).status_code == 200
    assert len(list(shots.glob("*.png"))) == 4
    time.sleep(0)  # nothing left running: the fixture stops the server and the browser
