"""``gradwise demo`` in a real browser: Debian's headless Chromium driven by Selenium.

Each view is opened, stepped and dragged with synthesised pointer events (Selenium's
ActionChains), and what the page shows is checked against what gradwise computes for the
same state; a screenshot of each view is saved (to ``$GRADWISE_DEMO_SCREENSHOTS`` when set,
else a temporary folder). Without Chromium, its driver or Selenium the tests are skipped,
except where the environment variable ``CI`` is set (``.ci/run`` sets it): there they fail.
"""

import math
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest

import gradwise as gw

CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")
MISSING = [name for name, found in (("chromium", CHROMIUM), ("chromedriver", DRIVER)) if not found]


def _need(module):
    try:
        return __import__(module)
    except ImportError:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"{module} is not installed: pip install 'gradwise[test]'",
                    allow_module_level=True)


if MISSING:
    if os.environ.get("CI"):
        raise RuntimeError(f"CI is set but {', '.join(MISSING)} is missing: .ci/run installs them")
    pytest.skip(f"{', '.join(MISSING)} not found (apt-get install chromium chromium-driver)",
                allow_module_level=True)  # fmt: skip
_need("selenium")
_need("uvicorn")

from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

from demo_helpers import small_cifar  # noqa: E402
from gradwise.demo.server import serving  # noqa: E402

#: Chromium without a screen, a sandbox, a GPU or any call home (the tests have no network).
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--no-first-run", "--window-size=1400,1000")  # fmt: skip
WAIT = 30
pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def page():
    profile = tempfile.mkdtemp(prefix="gradwise-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    with serving(small_cifar()) as url:
        # The driver's path is given, so Selenium Manager never looks for one to download.
        driver = webdriver.Chrome(service=Service(DRIVER), options=options)
        try:
            driver.get(url)
            until(driver, lambda d: d.execute_script("return gwDemo.plane !== null"))
            yield driver
        finally:
            driver.quit()
            shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="module")
def shots(tmp_path_factory):
    folder = os.environ.get("GRADWISE_DEMO_SCREENSHOTS")
    return Path(folder) if folder else tmp_path_factory.mktemp("screenshots")


def until(driver, condition, timeout=WAIT):
    return WebDriverWait(driver, timeout, poll_frequency=0.05).until(condition)


def state(driver, view):
    return driver.execute_script(f"return gwDemo.{view}")


def shown_number(driver, element_id):
    """The number an element shows, and the full-precision one it keeps beside it."""
    element = driver.find_element(By.ID, element_id)
    return float(element.text), float(element.get_attribute("data-value"))


def save(driver, shots, name):
    path = shots / f"demo-{name}.png"
    assert driver.save_screenshot(str(path))
    assert path.stat().st_size > 20_000  # a drawn page, not a blank one
    return path


def library_total(plane):
    W, b = np.array(plane["W"]), np.array(plane["b"])
    scores = np.array(plane["points"]) @ W.T + b
    data = gw.nn.loss_named(plane["loss"])(scores, np.array(plane["labels"]))
    return data + plane["reg"] * float(np.sum(W * W))


def drag(driver, canvas, start, end):
    """Press at canvas pixel ``start``, move to ``end`` in steps, release (pointer events)."""
    width, height = canvas.size["width"], canvas.size["height"]
    chain = ActionChains(driver, duration=20)
    chain.move_to_element_with_offset(canvas, start[0] - width / 2, start[1] - height / 2)
    chain.click_and_hold()
    for t in (0.25, 0.5, 0.75, 1.0):
        x = start[0] + t * (end[0] - start[0])
        y = start[1] + t * (end[1] - start[1])
        chain.move_to_element_with_offset(canvas, x - width / 2, y - height / 2)
    chain.release()
    chain.perform()


def to_pixels(plane, point, size):
    e = plane["extent"]
    return ((point[0] / e + 1) / 2 * size, (1 - point[1] / e) / 2 * size)


def to_plane(plane, pixel, size):
    e = plane["extent"]
    return ((pixel[0] / size * 2 - 1) * e, (1 - pixel[1] / size * 2) * e)


def test_view_1_steps_lower_the_loss_the_library_computes(page, shots):
    page.find_element(By.ID, "tab-plane").click()
    for loss in gw.nn.LOSSES:
        Select(page.find_element(By.ID, "plane-loss")).select_by_value(loss)
        until(page, lambda d, loss=loss: state(d, "plane")["loss"] == loss)
        text, value = shown_number(page, "plane-total")
        assert value == pytest.approx(library_total(state(page, "plane")), rel=1e-12)
        assert text == pytest.approx(value, abs=5e-5)
    Select(page.find_element(By.ID, "plane-loss")).select_by_value("svm")
    until(page, lambda d: state(d, "plane")["loss"] == "svm")
    before = shown_number(page, "plane-total")[1]
    for k in range(1, 6):
        page.find_element(By.ID, "plane-step").click()
        until(page, lambda d, k=k: d.find_element(By.ID, "plane-steps").text == str(k))
    after = shown_number(page, "plane-total")[1]
    assert after < before
    assert after == pytest.approx(library_total(state(page, "plane")), rel=1e-12)
    # Run, then pause: the loss keeps falling.
    page.find_element(By.ID, "plane-run").click()
    until(page, lambda d: int(d.find_element(By.ID, "plane-steps").text) >= 15)
    page.find_element(By.ID, "plane-run").click()
    assert shown_number(page, "plane-total")[1] < after
    save(page, shots, "classifier")


def test_view_1_drags_a_line_and_a_point(page):
    page.find_element(By.ID, "tab-plane").click()
    canvas = page.find_element(By.ID, "plane-canvas")
    size = canvas.size["width"]
    plane = state(page, "plane")
    # Shift class 0's line: its round handle (the anchor) dragged 40 px right, 30 px down.
    anchor = to_pixels(plane, plane["anchors"][0], size)
    target = (anchor[0] + 40, anchor[1] + 30)
    reached = to_plane(plane, target, size)
    pixel = 2 * plane["extent"] / size

    def through_target(d):  # the line has followed the pointer to the drag's end
        s = state(d, "plane")
        w, c = np.array(s["W"][0]), s["b"][0]
        return abs(w @ reached + c) / np.linalg.norm(w) < 3 * pixel

    drag(page, canvas, anchor, target)
    until(page, through_target)
    shifted = state(page, "plane")
    W = np.array(shifted["W"])
    np.testing.assert_allclose(W[0], plane["W"][0])  # shifting keeps the direction
    # Turn it: the arrow tip dragged round the anchor.
    norm = math.hypot(*W[0])
    tip_plane = np.array(shifted["anchors"][0]) + 0.7 * W[0] / norm
    tip = to_pixels(shifted, tip_plane, size)
    anchor = to_pixels(shifted, shifted["anchors"][0], size)
    turned_to = (anchor[0] - (tip[1] - anchor[1]), anchor[1] + (tip[0] - anchor[0]))  # 90 deg
    towards = np.array(to_plane(shifted, turned_to, size)) - shifted["anchors"][0]

    def turned_to_pointer(d):
        w = np.array(state(d, "plane")["W"][0])
        return w @ towards / (np.linalg.norm(w) * np.linalg.norm(towards)) > 0.999

    drag(page, canvas, tip, turned_to)
    until(page, turned_to_pointer)
    turned = np.array(state(page, "plane")["W"][0])
    assert np.linalg.norm(turned) == pytest.approx(norm, rel=1e-9)
    assert abs(turned @ W[0]) / norm**2 < 0.05  # a quarter turn
    # Move a point.
    plane = state(page, "plane")
    start = to_pixels(plane, plane["points"][3], size)
    target = (start[0] - 25, start[1] + 35)
    goal = np.array(to_plane(plane, target, size))
    drag(page, canvas, start, target)
    until(page, lambda d: np.abs(np.array(state(d, "plane")["points"][3]) - goal).max() < 2 * pixel)
    assert shown_number(page, "plane-total")[1] == pytest.approx(
        library_total(state(page, "plane")), rel=1e-12
    )
    # A click on empty space adds a point of the chosen class; a double click deletes it.
    n = len(state(page, "plane")["labels"])
    Select(page.find_element(By.ID, "plane-label")).select_by_value("2")
    spot = (size - 12, 12)  # the top right corner, away from the clouds of points
    offset = (spot[0] - size / 2, spot[1] - size / 2)
    ActionChains(page).move_to_element_with_offset(canvas, *offset).click().perform()
    until(page, lambda d: len(state(d, "plane")["labels"]) == n + 1)
    added = state(page, "plane")
    assert added["labels"][-1] == 2
    np.testing.assert_allclose(added["points"][-1], to_plane(added, spot, size), atol=2 * pixel)
    ActionChains(page).move_to_element_with_offset(canvas, *offset).double_click().perform()
    until(page, lambda d: len(state(d, "plane")["labels"]) == n)


def test_view_1_a_bad_input_is_an_error_on_the_page(page):
    page.find_element(By.ID, "tab-plane").click()
    lr = page.find_element(By.ID, "plane-lr")
    lr.clear()
    lr.send_keys("-1\t")
    until(page, lambda d: d.find_element(By.ID, "error").is_displayed())
    assert "lr must be in" in page.find_element(By.ID, "error").text
    steps = int(page.find_element(By.ID, "plane-steps").text)
    page.find_element(By.ID, "plane-step").click()  # still served
    until(page, lambda d: int(d.find_element(By.ID, "plane-steps").text) == steps + 1)
    assert not page.find_element(By.ID, "error").is_displayed()


def test_view_2_races_the_library_paths(page, shots):
    page.find_element(By.ID, "tab-race").click()
    Select(page.find_element(By.ID, "race-surface")).select_by_value("beale")
    until(page, lambda d: (state(d, "race") or {}).get("surface") == "beale")
    page.find_element(By.ID, "race-play").click()
    until(page, lambda d: int(d.find_element(By.ID, "race-steps").text) >= 60)
    page.find_element(By.ID, "race-play").click()
    race = state(page, "race")
    paths = page.execute_script("return race.paths")
    steps = int(page.find_element(By.ID, "race-steps").text)
    assert [r["name"] for r in race["racers"]] == list(gw.landscape.default_optimizers())
    for racer in race["racers"]:
        assert racer["color"] == gw.optim.spec(racer["name"]).color
        expected = gw.landscape.trace(racer["name"], "beale", steps=steps)
        np.testing.assert_allclose(paths[racer["name"]]["positions"], expected.positions,
                                   rtol=1e-12)  # fmt: skip
    assert int(page.find_element(By.ID, "race-fps").text) > 0
    # Hover: the value under the pointer is the surface's.
    canvas = page.find_element(By.ID, "race-canvas")
    ActionChains(page).move_to_element_with_offset(canvas, 50, -40).perform()
    until(page, lambda d: d.find_element(By.ID, "race-value").get_attribute("data-value"))
    shown = page.find_element(By.ID, "race-value").text
    x, y = (float(v) for v in shown[shown.index("(") + 1 : shown.index(")")].split(","))
    value = float(page.find_element(By.ID, "race-value").get_attribute("data-value"))
    assert value == pytest.approx(gw.landscape.get_surface("beale").value(x, y), rel=1e-3)
    save(page, shots, "optimizers")
    # A click starts every optimizer there.
    ActionChains(page).move_to_element_with_offset(canvas, -100, 60).click().perform()
    until(page, lambda d: state(d, "race")["start"] != race["start"])
    (x0, x1), (y0, y1) = race["window"]
    start = state(page, "race")["start"]
    assert start[0] == pytest.approx(x0 + (320 - 100) / 640 * (x1 - x0), abs=0.05)
    assert start[1] == pytest.approx(y1 - (240 + 60) / 480 * (y1 - y0), abs=0.05)


def test_view_3_trains_streams_every_epoch_and_explains(page, shots):
    page.find_element(By.ID, "tab-train").click()
    until(page, lambda d: d.execute_script("return !!gwDemo.train.info"))
    Select(page.find_element(By.ID, "train-loss")).select_by_value("softmax")
    epochs = page.find_element(By.ID, "train-epochs")
    epochs.clear()
    epochs.send_keys("4")
    batch = page.find_element(By.ID, "train-batch")
    batch.clear()
    batch.send_keys("100")
    page.find_element(By.ID, "train-start").click()
    until(page, lambda d: d.execute_script("return !!gwDemo.train.done"), timeout=120)
    records = page.execute_script("return gwDemo.train.epochs")
    assert [r["epoch"] for r in records] == [1, 2, 3, 4]  # an update after every epoch
    assert records[-1]["train_loss"] < records[0]["train_loss"]
    assert page.find_element(By.ID, "train-templates").is_displayed()
    index = page.find_element(By.ID, "train-index")
    index.clear()
    index.send_keys("7")
    page.find_element(By.ID, "train-explain").click()
    until(page, lambda d: d.execute_script("return !!gwDemo.train.explained"))
    explained = page.execute_script("return gwDemo.train.explained")
    scores = np.array([explained["scores"]])
    for name, value in explained["losses"].items():
        assert value == pytest.approx(gw.nn.loss_named(name)(scores, [explained["label"]]))
    rows = page.find_elements(By.CSS_SELECTOR, "#train-explain-table tr")
    assert len(rows) == 1 + len(explained["scores"])
    save(page, shots, "training")
