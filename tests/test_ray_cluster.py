"""Sweeps on a real two-node Ray cluster that this module starts once (``ray_cluster.py``): a
head node and a node whose Python cannot import gradwise until the job ships it.

The same sweep gives the local pool's records on the cluster; a sweep whose driver is
killed resumes (over Ray Client) to the same records; a node without gradwise is refused
in one line when nothing is shipped, and so is a node whose versions differ; a killed
worker is retried and its record says so; tasks carry their trial's name and memory; a
trial past its time limit fails alone; worker warnings reach the driver.
"""

import json
import os
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

from gradwise import GradwiseError, _version
from gradwise.cli import main
from gradwise.selection.executors import RayExecutor
from gradwise.selection.search import GridSearch
from ray_cluster import BARE_IP, start_cluster

pytestmark = [pytest.mark.ray, pytest.mark.slow]

SWEEP = ["sweep", "--data", "digits", "--optimizer", "sgd,momentum", "--lr", "1e-3:1:log"]
SWEEP += ["--reg", "1e-5:1e-1:log", "--epochs", "4", "--batch-size", "32", "--folds", "2"]
SWEEP += ["--seed", "3", "--trials", "6"]


@pytest.fixture(scope="module")
def cluster(ray):
    started, reason = start_cluster()
    if started is None:
        pytest.skip(reason)
    with pytest.MonkeyPatch.context() as patch:
        # A driver given an explicit address authenticates only if RAY_AUTH_MODE says so;
        # Ray read it when it was imported, so it is read again (as Ray itself does when it
        # turns authentication on for a process).
        patch.setenv("RAY_AUTH_MODE", "token")
        from ray._raylet import Config

        Config.initialize("")
        yield started
    started.stop()


@pytest.fixture(autouse=True)
def driver_env(cluster, monkeypatch):
    """This process drives the cluster too: no other cluster's address."""
    monkeypatch.delenv("RAY_ADDRESS", raising=False)


def records(out):
    lines = (out / "trials.jsonl").read_text().splitlines()
    return sorted((json.loads(line) for line in lines), key=lambda r: r["trial"])


def comparable(out):
    """The records as two runs must agree on them: without timings and nodes."""
    return [{k: v for k, v in r.items() if k not in ("seconds", "node")} for r in records(out)]


def result_of(out):
    result = json.loads((out / "result.json").read_text())
    return {k: result[k] for k in ("best_trial", "best_params", "val_score", "test_score")}


def sweep(out, *extra):
    return main([*SWEEP, "--out", str(out), *extra])


@pytest.fixture(scope="module")
def on_cluster(cluster, tmp_path_factory):
    """The sweep run start to end on the local pool, and on the cluster (3 trials at once:
    the head's 2 CPUs cannot take them all, the node without gradwise takes one)."""
    local = tmp_path_factory.mktemp("local")
    remote = tmp_path_factory.mktemp("cluster")
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("RAY_ADDRESS", raising=False)
        assert sweep(local, "--executor", "local", "--workers", "2") == 0
        on_ray = ["--executor", "ray", "--address", cluster.address, "--workers", "3"]
        assert sweep(remote, *on_ray) == 0
    return local, remote


def test_a_sweep_on_the_cluster_equals_the_local_pool_and_says_where_each_trial_ran(on_cluster):
    local, remote = on_cluster
    assert comparable(remote) == comparable(local)
    assert result_of(remote) == result_of(local)
    assert len({r["val_score"] for r in records(local)}) > 1  # the trials really differ
    nodes = [r["node"] for r in records(remote)]
    assert BARE_IP in nodes  # the node without gradwise ran trials once it was shipped
    assert len(set(nodes)) == 2 and all(r["attempts"] == 1 for r in records(remote))


def test_a_driver_killed_mid_sweep_resumes_over_ray_client_to_the_same_results(
    cluster, on_cluster, tmp_path, capsys
):
    _, uninterrupted = on_cluster
    killed = tmp_path / "killed"
    command = [sys.executable, "-m", "gradwise.cli", *SWEEP, "--out", str(killed)]
    command += ["--executor", "ray", "--address", cluster.address, "--workers", "1"]
    stderr = tmp_path / "stderr.txt"
    with open(stderr, "wb") as err:
        proc = subprocess.Popen(
            command, env=cluster.env, stdout=subprocess.DEVNULL, stderr=err, start_new_session=True
        )
    log = killed / "trials.jsonl"
    deadline = time.monotonic() + 90
    while not (log.exists() and log.read_text().count("\n") >= 1):
        assert proc.poll() is None, (
            f"the sweep ended before it could be killed: {stderr.read_text()}"
        )
        assert time.monotonic() < deadline, "no trial finished within 90 s"
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    finished = len(records(killed))
    assert 1 <= finished < 6 and not (killed / "result.json").exists()

    assert sweep(killed, "--executor", "ray", "--address", cluster.client_address) == 0
    assert f"skipped {finished} trials" in capsys.readouterr().out
    assert comparable(killed) == comparable(uninterrupted)
    assert result_of(killed) == result_of(uninterrupted)


def test_a_node_without_gradwise_is_refused_in_one_line_when_nothing_is_shipped(
    cluster, tmp_path, capsys
):
    code = sweep(tmp_path, "--executor", "ray", "--address", cluster.address, "--ship", "none")
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    line = next(line for line in err.splitlines() if "cannot import gradwise" in line)
    assert f"the Ray node {BARE_IP} cannot import gradwise" in line and "--ship py_modules" in line
    assert not (tmp_path / "trials.jsonl").exists()  # refused before any trial


# -- the executor on the cluster, from this process ----------------------------------------------


@pytest.fixture(scope="module")
def connected(cluster, ray):
    """One connection of this process to the cluster, gradwise shipped, for the tests below:
    an executor entered while Ray is connected uses that connection (its workers stay warm
    from one test to the next) and still checks every node before its first task."""
    from gradwise.selection.executors import job_env

    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("RAY_ADDRESS", raising=False)
        ray.init(address=cluster.address, log_to_driver=False, runtime_env=job_env("py_modules"))
    yield cluster
    ray.shutdown()


def touch(shared, task):
    Path(shared, str(task)).touch()
    return task


def test_a_node_with_other_versions_is_refused_before_any_trial(
    connected, tmp_path, monkeypatch, by_value
):
    monkeypatch.setattr(_version, "__version__", "0.0.0+elsewhere")  # as if this driver were
    with RayExecutor(address=connected.address) as ex, pytest.raises(GradwiseError) as caught:
        list(ex.run(touch, str(tmp_path), [(0, 0), (1, 1)]))
    message = str(caught.value)
    assert "\n" not in message and message.startswith("the Ray node ")
    assert f"gradwise {_version.__version__}" in message
    assert "gradwise 0.0.0+elsewhere" not in message.split(", this process")[0]
    assert "gradwise 0.0.0+elsewhere" in message.split(", this process")[1]
    assert f"NumPy {np.__version__}" in message
    assert list(tmp_path.iterdir()) == []  # no trial ran


class Flaky:
    """A tiny estimator: ``k=2`` kills its process the first time it fits (the ``marker``
    file says it did), ``k=1`` warns, ``k=9`` takes a minute."""

    def __init__(self, k=1, marker=""):
        self.k, self.marker = k, marker

    def get_params(self, deep=True):
        return {"k": self.k, "marker": self.marker}

    def set_params(self, **params):
        self.k = params.get("k", self.k)
        return self

    def fit(self, X, y):
        if self.k == 2 and not os.path.exists(self.marker):
            Path(self.marker).touch()
            os._exit(1)
        if self.k == 1:
            warnings.warn(f"k={self.k} may overfit", RuntimeWarning, stacklevel=2)
        if self.k == 9:
            time.sleep(60)
        self.fitted_ = len(y)
        return self

    def score(self, X, y):
        return 1.0 / self.k


XY = (np.zeros((20, 2)), np.arange(20) % 2)


def test_a_killed_worker_is_retried_and_warnings_reach_the_driver(connected, tmp_path, by_value):
    estimator = Flaky(marker=str(tmp_path / "died-once"))
    executor = RayExecutor(address=connected.address, max_retries=2)
    search = GridSearch(estimator, {"k": [1, 2, 3]}, executor=executor)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        search.fit(*XY)
    assert (tmp_path / "died-once").exists()  # a worker did die
    assert [r["status"] for r in search.trials_] == ["ok", "ok", "ok"]
    assert [r["attempts"] for r in search.trials_] == [1, 2, 1]
    assert all(r["node"] is not None for r in search.trials_)
    relayed = [str(w.message) for w in caught if "may overfit" in str(w.message)]
    node = search.trials_[0]["node"]
    assert f"trial 0 on {node}: k=1 may overfit" in relayed  # named after its trial
    assert any(m.startswith("refit best on ") for m in relayed)  # the refit ran as a task
    assert search.best_estimator_.fitted_ == 20 and search.best_params_["k"] == 1


def where_and_when(shared, task):
    import ray

    start = time.monotonic()
    time.sleep(0.7)
    context = ray.get_runtime_context()
    return context.get_task_name(), context.get_node_id(), start, time.monotonic()


def test_tasks_carry_their_names_and_no_node_runs_more_than_its_memory_holds(connected, by_value):
    import ray

    with RayExecutor(address=connected.address) as ex:
        smallest = min(n["Resources"]["memory"] for n in ray.nodes() if n["Alive"])
        largest = max(n["Resources"]["memory"] for n in ray.nodes() if n["Alive"])
        # Each task asks for 60% of a node's memory: one at a time on each node, though
        # the head has 2 CPUs.
        tasks = [(i, i) for i in range(4)]
        ran = dict(ex.run(where_and_when, None, tasks, label="trial", memory=0.6 * smallest))
        with pytest.raises(GradwiseError, match="the largest Ray node with a CPU has") as caught:
            list(ex.run(where_and_when, None, tasks, memory=2 * largest))
    assert "\n" not in str(caught.value)
    assert {key: name for key, (name, *_) in ran.items()} == {i: f"trial {i}" for i in range(4)}
    by_node = {}
    for _, node, start, end in ran.values():
        by_node.setdefault(node, []).append((start, end))
    assert len(by_node) == 2
    for spans in by_node.values():
        spans.sort()
        pairs = zip(spans, spans[1:], strict=False)
        assert all(end <= next_start for (_, end), (next_start, _) in pairs)


def test_workers_caps_the_tasks_in_flight_on_a_cluster(connected, by_value):
    tasks = [(i, i) for i in range(3)]
    with RayExecutor(address=connected.address, workers=1) as ex:  # 3 CPUs, 1 at a time
        ran = dict(ex.run(where_and_when, None, tasks))
    spans = sorted((start, end) for _, _, start, end in ran.values())
    pairs = zip(spans, spans[1:], strict=False)
    assert all(end <= next_start for (_, end), (next_start, _) in pairs)


def test_a_trial_past_its_time_limit_is_failed_and_the_others_finish(connected, by_value):
    # The limit counts from submission, which includes starting a worker: 5 s is ample.
    executor = RayExecutor(address=connected.address, time_limit=5)
    started = time.monotonic()
    search = GridSearch(Flaky(), {"k": [9, 3, 4]}, executor=executor, refit=False).fit(*XY)
    assert time.monotonic() - started < 50  # not the minute k=9 takes
    slow, *others = search.trials_
    assert slow["status"] == "failed" and "time limit of 5 s" in slow["error"]
    assert [r["status"] for r in others] == ["ok", "ok"]
    assert search.best_params_["k"] == 3
