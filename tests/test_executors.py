"""Executors: the local process pool, the serial one, Ray, and refusing bad Ray addresses."""

import os
import socket
import sys
import threading
import time

import numpy as np
import pytest

from gradwise import GradwiseError
from gradwise.data import load
from gradwise.selection.executors import (
    ONE_THREAD_ENV,
    LocalExecutor,
    RayExecutor,
    SerialExecutor,
    get_executor,
    probe_grpc,
)
from gradwise.selection.search import RandomSearch, stratified_subset


def add_offset(shared, task):
    """A task for the pools: needs the shared data, reports where and how it ran."""
    return shared["offset"] + task, os.getpid(), os.environ.get("OMP_NUM_THREADS")


def fail_on_three(shared, task):
    if task == 3:
        raise ArithmeticError("three is not allowed")
    return task


def without_times(records):
    """Records as two executors must agree on them: without their timings and nodes."""
    return [{k: v for k, v in r.items() if k not in ("seconds", "node")} for r in records]


@pytest.fixture(scope="module")
def small_digits():
    ds = load("digits")
    return stratified_subset(ds.X_train, ds.y_train, 600, seed=0)


def softmax_search(executor):
    from gradwise.estimators import SoftmaxClassifier

    return RandomSearch(
        SoftmaxClassifier(optimizer="momentum", epochs=3, batch_size=64),
        {"lr": "1e-3:1:log", "reg": "1e-5:1e-1:log"},
        n_trials=4,
        folds=2,
        seed=5,
        executor=executor,
    )


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class FakeServer:
    """A TCP server on 127.0.0.1 that answers every connection with ``reply`` (or nothing)."""

    def __init__(self, reply):
        self.reply = reply
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.port = self.sock.getsockname()[1]
        self.open = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.open.append(conn)
            if self.reply is not None:
                conn.recv(1024)
                conn.sendall(self.reply)

    def close(self):
        for conn in self.open:
            conn.close()
        self.sock.close()


# -- local and serial --------------------------------------------------------------------------


def test_local_pool_runs_every_task_in_one_thread_workers():
    before = os.environ.get("OMP_NUM_THREADS")
    with LocalExecutor(workers=2) as ex:
        results = dict(ex.run(add_offset, {"offset": 100}, [(f"t{i}", i) for i in range(6)]))
    assert sorted(results) == [f"t{i}" for i in range(6)]
    assert [results[f"t{i}"][0] for i in range(6)] == [100 + i for i in range(6)]
    pids = {pid for _, pid, _ in results.values()}
    assert os.getpid() not in pids and 1 <= len(pids) <= 2
    assert {threads for _, _, threads in results.values()} == {"1"}
    assert os.environ.get("OMP_NUM_THREADS") == before  # this process's environment restored


def test_serial_executor_gives_the_same_values_in_this_process():
    results = dict(SerialExecutor().run(add_offset, {"offset": 1}, [(0, 0), (1, 5)]))
    assert results[0][0] == 1 and results[1][0] == 6 and results[1][1] == os.getpid()


def test_an_error_in_a_task_reaches_the_caller():
    with LocalExecutor(workers=2) as ex, pytest.raises(ArithmeticError, match="three"):
        list(ex.run(fail_on_three, None, [(i, i) for i in range(5)]))


def test_local_and_serial_searches_agree_on_integer_data(small_digits):
    from gradwise.estimators.knn import KNNClassifier

    X, y = small_digits
    space = {"k": "1:30:int", "metric": "l1,l2"}
    local = RandomSearch(KNNClassifier(), space, n_trials=4, folds=2, executor="local").fit(X, y)
    serial = RandomSearch(KNNClassifier(), space, n_trials=4, folds=2, executor="serial").fit(X, y)
    assert without_times(local.trials_) == without_times(serial.trials_)


def test_get_executor_checks_its_arguments():
    assert get_executor().name == "local" and get_executor("serial").name == "serial"
    assert get_executor("ray", address="auto").address == "auto"
    with pytest.raises(ValueError, match="executor must be one of"):
        get_executor("threads")
    with pytest.raises(ValueError, match="only used with the ray executor"):
        get_executor("local", address="auto")
    with pytest.raises(ValueError, match="workers must be an integer >= 1"):
        LocalExecutor(workers=0)
    for address in ("no-port-here", "ray://", "ray://host", "http://host:10001"):
        with pytest.raises(ValueError, match="'auto', 'HOST:PORT' or 'ray://HOST:PORT'"):
            RayExecutor(address=address)
    assert RayExecutor(address="ray://10.0.0.1:10001").address == "ray://10.0.0.1:10001"
    for option, value in (("ship", "pip"), ("time_limit", 5)):
        with pytest.raises(ValueError, match="only used with the ray executor"):
            get_executor("serial", **{option: value})
    with pytest.raises(ValueError, match="ship must be one of"):
        RayExecutor(ship="scp")
    for limit in (0, -1.0, float("nan")):
        with pytest.raises(ValueError, match="time_limit"):
            RayExecutor(time_limit=limit)
    with pytest.raises(ValueError, match="workers must be an integer >= 1"):
        RayExecutor(workers=0)


# -- Ray addresses (no Ray instance is started) -------------------------------------------------


def test_missing_ray_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # as if Ray were not installed
    with pytest.raises(GradwiseError, match=r"pip install 'gradwise\[ray\]'"):
        RayExecutor().__enter__()


def test_a_ray_address_that_does_not_answer_fails_within_seconds(ray):
    started = time.monotonic()
    with pytest.raises(GradwiseError, match="no Ray cluster answers at"):
        with RayExecutor(address=f"127.0.0.1:{free_port()}", connect_timeout=2.0):
            pass
    assert time.monotonic() - started < 10


@pytest.mark.parametrize(
    "reply, message",
    [
        (b"HTTP/1.1 400 Bad Request\r\n\r\n", "is not a Ray cluster"),
        (None, "answers at .* within 0.5 s"),
        (b"\x00\x00\x00\x04\x00\x00\x00\x00\x00", None),  # an HTTP/2 SETTINGS frame: accepted
    ],
)
def test_probe_tells_grpc_from_other_servers_and_silence(reply, message):
    server = FakeServer(reply)
    try:
        started = time.monotonic()
        if message is None:
            probe_grpc("127.0.0.1", server.port, timeout=0.5)
        else:
            with pytest.raises(GradwiseError, match=message):
                probe_grpc("127.0.0.1", server.port, timeout=0.5)
        assert time.monotonic() - started < 3
    finally:
        server.close()


# -- Ray -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ray_instance(ray):
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


@pytest.mark.ray
@pytest.mark.slow
def test_ray_runs_tasks_and_leaves_a_running_instance_alone(ray_instance):
    from gradwise.selection.search import evaluate_config

    X, y = np.arange(40.0).reshape(20, 2), np.arange(20) % 2
    shared = {"estimator": _knn(), "X": X, "y": y, "splits": [(np.arange(10), np.arange(10, 20))]}
    with RayExecutor() as ex:
        results = dict(ex.run(evaluate_config, shared, [(0, {"k": 1}), (1, {"k": 50})]))
    assert results[0]["status"] == "ok" and results[1]["status"] == "failed"
    assert "larger than the 10 training points" in results[1]["error"]
    assert ray_instance.is_initialized()
    host, port = ray_instance.get_runtime_context().gcs_address.rsplit(":", 1)
    probe_grpc(host, int(port), timeout=5.0)  # a real Ray cluster passes the probe


@pytest.mark.ray
@pytest.mark.slow
def test_ray_and_local_give_identical_search_results(ray_instance, small_digits):
    X, y = small_digits
    on_ray = softmax_search(RayExecutor()).fit(X, y)
    local = softmax_search(LocalExecutor(workers=2)).fit(X, y)
    assert without_times(on_ray.trials_) == without_times(local.trials_)
    assert on_ray.best_params_ == local.best_params_
    assert len({r["val_score"] for r in local.trials_}) > 1  # the trials really differ


def _knn():
    from gradwise.estimators.knn import KNNClassifier

    return KNNClassifier()


def test_one_thread_environment_names_the_common_blas_libraries():
    assert {"OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"} <= set(ONE_THREAD_ENV)


def test_ray_is_imported_only_when_used():
    import subprocess

    code = (
        "import sys, gradwise.selection.search, gradwise.commands.sweep; "
        "print('ray' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.strip() == "False", done.stderr
