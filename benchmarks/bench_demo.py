"""``gradwise demo``'s speed goals, measured through a real server and WebSocket.

1. A step round trip of the 2-D views (goal < 20 ms median): ``plane.step`` (view 1) and
   ``race.step`` with six optimizers (view 2), each sent over a WebSocket to a running
   server and answered; beside them the same message handled in this process with no
   server (the work alone), and the ratio (what the server and the socket add).
2. Six optimizers racing (goal 30 frames a second): a client that asks for one step of
   every path per frame and waits for the answer, as the page does, for a few seconds;
   with ``--browser`` (needs chromium and chromedriver) also the page itself in headless
   Chromium, drawing every frame.
3. Training on the CIFAR-10 sample (goal: at least one update of the curves per epoch,
   without stalling the page): the epochs streamed, the longest gap between two updates,
   and the ``race.step`` round trip measured while the training runs (its median and
   worst), against the idle one of 1.

    python benchmarks/bench_demo.py [--rounds 200] [--epochs 3] [--browser]
"""

import argparse
import json
import shutil
import statistics
import tempfile
import time

from websockets.sync.client import connect

import gradwise as gw
from gradwise.demo import limits
from gradwise.demo.app import _answer
from gradwise.demo.server import serving
from gradwise.demo.session import Session


class Tab:
    """One tab's WebSocket: ``ask(type, **fields)`` sends and returns the reply."""

    def __init__(self, url):
        self._socket = connect(url.replace("http://", "ws://") + "ws", origin=url.rstrip("/"),
                               max_size=None)  # fmt: skip
        self.ws = self._socket.__enter__()
        self.hello = json.loads(self.ws.recv())
        self.next_id, self.pushed = 1, []

    def ask(self, type, **fields):
        message_id = self.next_id
        self.next_id += 1
        self.ws.send(json.dumps({"type": type, "id": message_id, **fields}))
        while True:
            reply = json.loads(self.ws.recv())
            if reply.get("id") == message_id:
                if reply["type"] == "error":
                    raise SystemExit(f"{type}: {reply['message']}")
                return reply
            self.pushed.append((time.perf_counter(), reply))

    def close(self):
        self._socket.__exit__(None, None, None)


def timed(call, rounds):
    times = []
    for _ in range(rounds):
        began = time.perf_counter()
        call()
        times.append(time.perf_counter() - began)
    return times


def ms(seconds):
    return f"{1e3 * seconds:.2f} ms"


def round_trips(url, rounds):
    print("1. step round trip of the 2-D views (goal < 20 ms)")
    tab = Tab(url)
    local = Session(None, lambda message: None)
    cases = [
        ("plane.step", "30 points", {"type": "plane.randomise", "points_per_class": 10}),
        ("plane.step", f"{limits.MAX_POINTS} points",
         {"type": "plane.randomise", "classes": limits.MAX_CLASSES,
          "points_per_class": limits.MAX_POINTS // limits.MAX_CLASSES}),
        ("race.step", "6 optimizers", {"type": "race.setup", "surface": "beale"}),
    ]  # fmt: skip
    for kind, what, setup in cases:
        tab.ask(**setup)
        local.handle(setup)
        text = json.dumps({"type": kind, "steps": 1})
        served = statistics.median(timed(lambda kind=kind: tab.ask(kind, steps=1), rounds))
        # The work alone: the same text parsed, handled and its answer encoded, no server.
        alone = statistics.median(
            timed(lambda text=text: json.dumps(_answer(local, text)), rounds)
        )
        print(f"   {kind} ({what}): over the WebSocket {ms(served)}, here {ms(alone)}, "
              f"ratio {served / alone:.2f} -> {'met' if served < 0.020 else 'MISSED'}")
    tab.close()


def race_fps(url, seconds=3.0):
    print("2. six optimizers racing (goal 30 frames a second)")
    tab = Tab(url)
    state = tab.ask("race.setup", surface="beale")
    assert len(state["racers"]) == 6, state["racers"]
    frames, began = 0, time.perf_counter()
    while time.perf_counter() - began < seconds:
        tab.ask("race.step", steps=1)
        frames += 1
    fps = frames / (time.perf_counter() - began)
    print(f"   a client asking for every frame: {fps:.0f} frames a second "
          f"-> {'met' if fps >= 30 else 'MISSED'}")  # fmt: skip
    tab.close()


def browser_fps(url, seconds=3.0):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="gradwise-bench-")
    options = webdriver.ChromeOptions()
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", f"--user-data-dir={profile}"):  # fmt: skip
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
    try:
        driver.get(url + "#race")
        while not driver.execute_script("return !!(gwDemo.race && gwDemo.race.racers)"):
            time.sleep(0.05)
        driver.find_element("id", "race-play").click()
        began = time.perf_counter()
        time.sleep(seconds)
        driver.find_element("id", "race-play").click()
        elapsed = time.perf_counter() - began
        steps = int(driver.find_element("id", "race-steps").text)
        fps = steps / elapsed
        print(f"   the page in headless Chromium, drawing every frame: {fps:.0f} frames a "
              f"second -> {'met' if fps >= 30 else 'MISSED'}")  # fmt: skip
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def training_stream(url, epochs):
    print(f"3. training on the CIFAR-10 sample, {epochs} epochs (goal: an update per epoch)")
    tab = Tab(url)
    tab.ask("race.setup", surface="beale")
    idle = statistics.median(timed(lambda: tab.ask("race.step", steps=1), 50))
    began = time.perf_counter()
    tab.ask("train.start", epochs=epochs, loss="softmax", optimizer="momentum")
    busy = []
    while not any(m["type"] == "train.done" for _, m in tab.pushed):
        busy += timed(lambda: tab.ask("race.step", steps=1), 1)
        time.sleep(0.01)  # a page asks at most once a frame
    streamed = [(t, m) for t, m in tab.pushed if m["type"] in ("train.step", "train.epoch")]
    seen = [m["record"]["epoch"] for _, m in streamed if m["type"] == "train.epoch"]
    times = [began] + [t for t, _ in streamed]
    gap = max(b - a for a, b in zip(times[:-1], times[1:], strict=True))
    total = time.perf_counter() - began
    print(f"   {len(seen)} epoch updates for {epochs} epochs and {len(streamed) - len(seen)} "
          f"minibatch updates in {total:.1f} s; longest gap between updates {gap:.2f} s "
          f"-> {'met' if seen == list(range(1, epochs + 1)) else 'MISSED'}")  # fmt: skip
    print(f"   race.step while training: median {ms(statistics.median(busy))}, worst "
          f"{ms(max(busy))} (idle: {ms(idle)}; ratio of medians "
          f"{statistics.median(busy) / idle:.2f})")  # fmt: skip
    tab.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--browser", action="store_true", help="also time the page in Chromium")
    args = parser.parse_args()
    dataset = gw.data.load("cifar10-sample", progress=False)
    with serving(dataset) as url:
        print(f"server at {url}")
        round_trips(url, args.rounds)
        race_fps(url)
        if args.browser:
            browser_fps(url)
        training_stream(url, args.epochs)


if __name__ == "__main__":
    main()
