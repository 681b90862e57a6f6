"""Executors against hostile clusters and workers: a ``RAY_ADDRESS`` that points elsewhere,
a cluster with no CPU for tasks, workers that die in the middle of a task.

Every Ray cluster these tests start listens on 127.0.0.1, has one or two CPUs and its own
temporary folder, and is stopped by the ids of its own processes (``ray stop`` would stop
every Ray process on the machine).
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest

from gradwise import GradwiseError
from gradwise.selection.executors import LocalExecutor, RayExecutor, TaskLost, probe_grpc
from gradwise.selection.search import GridSearch
from ray_cluster import descendants_and, processes_mentioning, stop

pytestmark = [pytest.mark.ray, pytest.mark.slow]

#: A private Ray instance on the loopback interface only.
PRIVATE = dict(include_dashboard=False, log_to_driver=False, _node_ip_address="127.0.0.1")
RAY_CLI = str(Path(sys.executable).with_name("ray"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def crash_on_three(shared, task):
    """A task whose worker process dies, without an exception, when ``task`` is 3."""
    if task == 3:
        os._exit(1)
    return shared + task


def gcs_address(shared, task):
    """A task that says which cluster it runs on."""
    import ray

    return ray.get_runtime_context().gcs_address


class CrashingKNN:
    """A tiny estimator whose fit kills its process when ``k == 3``."""

    def __init__(self, k=1):
        self.k = k

    def get_params(self, deep=True):
        return {"k": self.k}

    def set_params(self, **params):
        self.k = params.get("k", self.k)
        return self

    def fit(self, X, y):
        if self.k == 3:
            os._exit(1)
        self.X_, self.y_ = X, y
        return self

    def score(self, X, y):
        return 1.0 / self.k


# -- a cluster started with `ray start`, stopped by its processes' ids --------------------------


@pytest.fixture
def head_node(ray):
    """``HOST:PORT`` of a one-CPU head node started with ``ray start`` for this test."""
    temp_dir = tempfile.mkdtemp(prefix="gw-ray-", dir="/tmp")  # short: Ray's socket paths
    port = free_port()
    command = [
        RAY_CLI,
        "start",
        "--head",
        "--node-ip-address",
        "127.0.0.1",
        "--port",
        str(port),
        "--num-cpus",
        "1",
        "--temp-dir",
        temp_dir,
        "--include-dashboard",
        "false",
        "--dashboard-agent-listen-port",
        str(free_port()),
        "--disable-usage-stats",
    ]
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=90, env=env)
        assert done.returncode == 0, done.stdout + done.stderr
        yield f"127.0.0.1:{port}"
    finally:
        stop(descendants_and(processes_mentioning(temp_dir)), signals=[signal.SIGKILL])
        shutil.rmtree(temp_dir, ignore_errors=True)


# -- 1: no --address means a private instance, whatever RAY_ADDRESS says ------------------------


def test_without_an_address_a_private_instance_runs_and_the_cluster_is_left_alone(
    ray, head_node, monkeypatch, by_value
):
    assert not ray.is_initialized()
    monkeypatch.setenv("RAY_ADDRESS", head_node)
    with RayExecutor(num_cpus=1) as ex:
        private = ray.get_runtime_context().gcs_address
        results = dict(ex.run(gcs_address, None, [(0, 0), (1, 1)]))
    assert private != head_node and not private.endswith(":" + head_node.rsplit(":")[1])
    assert results == {0: private, 1: private}
    assert not ray.is_initialized()  # the private instance is stopped on exit
    assert os.environ["RAY_ADDRESS"] == head_node  # and the environment restored
    probe_grpc("127.0.0.1", int(head_node.rsplit(":")[1]), timeout=5.0)  # still running


# -- 2: a cluster with no CPU for tasks is refused at once ---------------------------------------


def test_a_cluster_with_no_cpu_is_one_line_within_seconds(ray, monkeypatch):
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    ray.init(address="local", num_cpus=0, **PRIVATE)
    try:
        started = time.monotonic()
        with RayExecutor() as ex, pytest.raises(GradwiseError) as caught:
            list(ex.run(crash_on_three, 0, [(0, 1)]))
        assert time.monotonic() - started < 10
        message = str(caught.value)
        assert "\n" not in message and "0 CPUs" in message and "--num-cpus" in message
    finally:
        ray.shutdown()


# -- 3: a worker that dies fails its task only ---------------------------------------------------


@pytest.fixture(scope="module")
def ray_two_cpus(ray):
    saved = os.environ.pop("RAY_ADDRESS", None)
    ray.init(address="local", num_cpus=2, **PRIVATE)
    yield ray
    ray.shutdown()
    if saved is not None:
        os.environ["RAY_ADDRESS"] = saved


def test_a_ray_worker_that_dies_loses_its_task_and_the_others_finish(ray_two_cpus, by_value):
    tasks = [(i, i) for i in range(6)]
    with RayExecutor(max_retries=0) as ex:
        results = dict(ex.run(crash_on_three, 100, tasks))
    assert sorted(results) == list(range(6))
    assert isinstance(results[3], TaskLost) and "WorkerCrashedError" in str(results[3])
    assert all(results[i] == 100 + i for i in range(6) if i != 3)


def test_a_task_its_ray_node_cannot_import_is_lost_with_the_reason(ray_two_cpus, tmp_path):
    (tmp_path / "gw_vanishing_module.py").write_text("def task(shared, task):\n    return task\n")
    sys.path.insert(0, str(tmp_path))
    try:
        import gw_vanishing_module
    finally:
        sys.path.remove(str(tmp_path))
    shutil.rmtree(tmp_path / "__pycache__", ignore_errors=True)
    (tmp_path / "gw_vanishing_module.py").unlink()  # as on a node without the package
    try:
        with RayExecutor(max_retries=0) as ex:
            results = dict(ex.run(gw_vanishing_module.task, None, [(0, 0)]))
    finally:
        del sys.modules["gw_vanishing_module"]
    assert isinstance(results[0], TaskLost)
    assert "gw_vanishing_module" in str(results[0]) and "could not be loaded" in str(results[0])


def test_a_ray_search_records_the_trial_whose_worker_died_as_failed(ray_two_cpus, by_value):
    X, y = np.zeros((20, 2)), np.arange(20) % 2
    search = GridSearch(
        CrashingKNN(), {"k": [1, 2, 3]}, executor=RayExecutor(max_retries=0), refit=False
    ).fit(X, y)
    statuses = {r["params"]["k"]: r["status"] for r in search.trials_}
    assert statuses == {1: "ok", 2: "ok", 3: "failed"}
    assert "TaskLost" in search.trials_[2]["error"] and "died" in search.trials_[2]["error"]
    assert search.best_params_ == {"k": 1}


# -- 3: the local pool's BrokenProcessPool likewise ----------------------------------------------


def test_a_local_worker_that_dies_loses_its_task_and_the_others_finish():
    tasks = [(f"t{i}", i) for i in range(8)]
    with LocalExecutor(workers=2) as ex:
        results = dict(ex.run(crash_on_three, 100, tasks))
    assert sorted(results) == sorted(key for key, _ in tasks)
    assert isinstance(results["t3"], TaskLost) and "BrokenProcessPool" in str(results["t3"])
    assert all(results[f"t{i}"] == 100 + i for i in range(8) if i != 3)


def test_a_local_search_records_the_trial_whose_worker_died_and_logs_it(tmp_path):
    X, y = np.zeros((20, 2)), np.arange(20) % 2
    seen = []
    search = GridSearch(
        CrashingKNN(),
        {"k": [3, 1, 2, 4]},
        executor=LocalExecutor(workers=2),
        out=tmp_path,
        on_trial=seen.append,
        refit=False,
    ).fit(X, y)
    assert [r["status"] for r in search.trials_] == ["failed", "ok", "ok", "ok"]
    assert "BrokenProcessPool" in search.trials_[0]["error"]
    assert len(seen) == 4 and len((tmp_path / "trials.jsonl").read_text().splitlines()) == 4
    assert search.best_params_ == {"k": 1}
    again = GridSearch(CrashingKNN(), {"k": [3, 1, 2, 4]}, out=tmp_path, refit=False).fit(X, y)
    assert again.n_skipped_ == 4 and again.trials_ == search.trials_  # logged like any failure


def test_when_every_trial_kills_its_worker_the_search_ends_in_one_line():
    X, y = np.zeros((20, 2)), np.arange(20) % 2
    search = GridSearch(CrashingKNN(), {"k": [3]}, executor=LocalExecutor(workers=2))
    with pytest.raises(GradwiseError, match="every trial failed.*BrokenProcessPool") as caught:
        search.fit(X, y)
    assert "\n" not in str(caught.value)
