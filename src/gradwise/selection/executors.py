"""Where the trials of a search run: in this process, in a local process pool, or on Ray.

Every executor is a context manager with two methods::

    ex = LocalExecutor(workers=2)
    ex.check()                      # fails now if the executor cannot run (Ray unreachable)
    with ex:
        for key, result in ex.run(fn, shared, tasks):   # in order of completion
            ...

``fn(shared, task)`` is called once per ``(key, task)`` pair of ``tasks``. ``shared`` (the
estimator and the data, say) is sent to each worker once, not with every task: the local
pool hands it to each worker process when it starts, Ray puts it in its object store once.
``fn`` and ``shared`` must be picklable (``fn`` a module-level function).

Workers run NumPy with one BLAS thread each (``OMP_NUM_THREADS=1`` and friends): two
workers on two cores do not fight over them, and a worker's floating-point results do not
depend on how many threads its BLAS chose, so the same task gives bit-identical results on
the local pool and on Ray (which sets ``OMP_NUM_THREADS=1`` for one-CPU tasks itself).

Ray is optional (``pip install 'gradwise[ray]'``) and imported only when a
:class:`RayExecutor` is entered. Before connecting to an existing cluster the executor
checks within ``connect_timeout`` seconds that a gRPC server answers at the address, so a
wrong address is a clear :class:`~gradwise.GradwiseError`, not a silent hang; without an
address it starts a private instance even when ``RAY_ADDRESS`` is set or ``ray start`` has
run on this machine. A cluster with no node that can take a one-CPU task is refused before
anything is submitted, instead of waiting forever.

A task whose worker dies (killed, out of memory, ``os._exit``), or that cannot be loaded
where it runs (a Ray node that cannot import gradwise), does not end the run: ``run``
yields ``(key, TaskLost(reason))`` for it and goes on with the other tasks. An exception
raised *by* ``fn`` still reaches the caller.

After ``run`` yields a key, ``ex.ran_on[key]`` says where it ran: ``{"node": ..., "attempts":
...}`` (the node's address, or this machine's name; how many times it was started).

On a cluster (``address`` given) the Ray executor ships gradwise with the job (``ship``:
``"py_modules"`` uploads this process's gradwise package, ``"pip"`` installs this version
of gradwise and NumPy on each node from the package index, ``"none"`` relies on what the
nodes have), and before the first task checks that every node runs the same gradwise,
NumPy and BLAS as this process (:func:`check_cluster_environment`): results are identical
to a local run only then. Each task is shown in Ray under ``"LABEL KEY"`` (``"trial 3"``),
asks for ``memory`` bytes when given, at most ``workers`` tasks are in flight, and a task
still running ``time_limit`` seconds after it was submitted is stopped and yielded as
:class:`TaskLost`. Warnings a task raises on its node are re-issued here, naming the task
and the node.
"""

import builtins
import concurrent.futures as cf
import multiprocessing
import os
import platform
import socket
import time
import types
import warnings
from collections import deque
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import NamedTuple

from .. import _version
from .._memory import human_bytes
from .._validate import one_of, positive
from ..errors import GradwiseError

#: Environment that pins a worker's BLAS (OpenBLAS, MKL, OpenMP, Accelerate) to one thread.
ONE_THREAD_ENV = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "VECLIB_MAXIMUM_THREADS": "1",
}

EXECUTORS = ("local", "ray", "serial")

#: How the Ray executor gets gradwise onto a cluster's nodes (``RayExecutor(ship=...)``).
SHIPPING = ("py_modules", "pip", "none")

#: The name ``ran_on`` gives this machine (the serial executor and the local pool).
THIS_MACHINE = platform.node() or "localhost"

#: Seconds a node may take to start a worker and answer the version check.
CHECK_TIMEOUT = 120.0


class TaskLost(GradwiseError):
    """Yielded (not raised) by ``run`` in place of the result of a task that never finished:
    its worker process died, or the task could not be loaded where it was sent. ``str()``
    says why."""


def get_executor(
    name="local", *, workers=None, address=None, connect_timeout=5.0, ship=None, time_limit=None
):
    """The executor called ``name``: ``"local"`` (default), ``"ray"`` or ``"serial"``.

    ``workers`` sizes the local pool (default: every core), or caps the Ray tasks in flight
    (and sizes a private instance); ``address`` is the Ray cluster (``"auto"``,
    ``"HOST:PORT"`` or ``"ray://HOST:PORT"``; ``None`` starts a private local Ray instance);
    ``ship`` and ``time_limit`` are Ray's (see :class:`RayExecutor`).
    """
    if name == "ray":
        return RayExecutor(
            address=address,
            num_cpus=workers,
            workers=workers,
            connect_timeout=connect_timeout,
            ship=ship or "py_modules",
            time_limit=time_limit,
        )
    for option, value in (("--address", address), ("--ship", ship), ("--time-limit", time_limit)):
        if value is not None:
            raise ValueError(f"{option} is only used with the ray executor")
    if name == "local":
        return LocalExecutor(workers=workers)
    if name == "serial":
        return SerialExecutor()
    known = ", ".join(repr(n) for n in EXECUTORS)
    raise ValueError(f"executor must be one of {known}, got {name!r}")


class SerialExecutor:
    """Runs every task in this process, one after the other (debugging, notebooks).

    Unlike the pools it uses this process's BLAS threads, so its floating-point results
    may differ in the last bits from theirs.
    """

    name = "serial"

    def __init__(self):
        self.ran_on = {}

    def check(self):
        """Nothing to check: this process is always there."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def run(self, fn, shared, tasks, *, label=None, memory=None):
        for key, task in tasks:
            result = fn(shared, task)
            self.ran_on[key] = {"node": THIS_MACHINE, "attempts": 1}
            yield key, result


class LocalExecutor:
    """A pool of ``workers`` fresh Python processes on this machine (default: all cores).

    Processes are started with the ``spawn`` method: each worker imports NumPy afresh with
    one BLAS thread, and nothing of this process's state (threads, locks) is inherited.
    """

    name = "local"

    def __init__(self, workers=None):
        if workers is not None:
            if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
                raise ValueError(f"workers must be an integer >= 1, got {workers!r}")
        self.workers = workers or os.cpu_count() or 1
        self._pool = None
        self.ran_on = {}

    def check(self):
        """Nothing to check: worker processes start when tasks arrive."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def close(self):
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def run(self, fn, shared, tasks, *, label=None, memory=None):
        """``label`` and ``memory`` are Ray's: a local pool neither names nor sizes tasks."""
        tasks = list(tasks)
        starts = [0] * len(tasks)  # pools in which a task started but did not finish
        # A worker that dies breaks the whole pool, and every unfinished task with it: the
        # tasks that had not started are run again in a fresh pool; of those that had, a
        # lone one is the one that killed its worker, and several are run again one by one,
        # each alone in a pool, so that only the task that kills its worker is lost.
        todo, alone = list(range(len(tasks))), []
        while todo or alone:
            if alone:
                batch, workers = [alone.pop(0)], 1
            else:
                batch, todo, workers = todo, [], self.workers
            started, lost = yield from self._run_pool(fn, shared, tasks, batch, workers, starts)
            if not lost:
                continue
            running = lost & started  # the task that killed its worker is one of these
            for i in running:
                starts[i] += 1
            unstarted = [i for i in batch if i in lost and i not in running]
            if len(running) == 1:
                i = running.pop()
                self.ran_on[tasks[i][0]] = {"node": THIS_MACHINE, "attempts": starts[i]}
                yield tasks[i][0], TaskLost(f"its worker process died ({_BROKEN_REASON})")
            elif not running:
                raise GradwiseError(
                    f"the local worker processes died before running any task ({_BROKEN_REASON})"
                )
            else:
                alone.extend(sorted(running))
            todo = unstarted + todo

    def _run_pool(self, fn, shared, tasks, batch, workers, starts):
        """Run ``tasks[i]`` for ``i`` in ``batch`` in a fresh pool, yielding the results.

        Returns ``(started, lost)``: the indices of the tasks that started in a worker, and
        of those left unfinished because the pool broke (empty if it did not).
        """
        self.close()
        context = multiprocessing.get_context("spawn")
        started_queue = context.SimpleQueue()
        with _environment(ONE_THREAD_ENV):
            # Workers are spawned while tasks are submitted: the environment must be set then.
            self._pool = cf.ProcessPoolExecutor(
                max_workers=min(workers, len(batch)),
                mp_context=context,
                initializer=_install_shared,
                initargs=(shared, started_queue),
            )
            futures = {
                self._pool.submit(_call_with_installed, fn, i, tasks[i][1]): i for i in batch
            }
        started, lost = set(), set()
        try:
            for future in cf.as_completed(futures):
                _drain(started_queue, started)  # keeps the queue's pipe from filling up
                i = futures[future]
                try:
                    result = future.result()
                except BrokenProcessPool:
                    lost.add(i)
                    continue
                self.ran_on[tasks[i][0]] = {"node": THIS_MACHINE, "attempts": starts[i] + 1}
                yield tasks[i][0], result
        finally:
            self.close()
        _drain(started_queue, started)
        started_queue.close()
        return started, lost


def _drain(queue, into):
    while not queue.empty():
        into.add(queue.get())


#: Why a pool's task was lost (the pool cannot tell which exit code or signal it was).
_BROKEN_REASON = "BrokenProcessPool: killed by a signal, out of memory, or os._exit"


class RayExecutor:
    """Tasks as Ray remote functions, one CPU each.

    ``address=None`` starts a private local Ray instance with ``num_cpus`` CPUs (default:
    all cores) and stops it on exit, whatever ``RAY_ADDRESS`` says; ``"auto"``,
    ``"HOST:PORT"`` or ``"ray://HOST:PORT"`` (Ray Client, for a driver outside the cluster)
    connects to a running cluster (``ray start --head``) and leaves it running. If Ray is
    already initialised in this process, that instance is used as it is (and nothing is
    shipped: ``ray.init`` is where a job's code is uploaded). A task whose worker dies is
    retried ``max_retries`` times (Ray's default, 3) before it is yielded as
    :class:`TaskLost`.

    On a cluster, ``ship`` (one of :data:`SHIPPING`) says how gradwise reaches the nodes,
    and :func:`check_cluster_environment` runs before the first task. ``workers`` caps the
    tasks in flight (default: as many as the cluster takes); ``time_limit`` (seconds, from
    submission) stops a task that runs longer and yields it as :class:`TaskLost`.
    """

    name = "ray"

    def __init__(
        self,
        address=None,
        num_cpus=None,
        connect_timeout=5.0,
        max_retries=3,
        *,
        workers=None,
        ship="py_modules",
        time_limit=None,
    ):
        if address is not None and (not isinstance(address, str) or not address.strip()):
            raise ValueError(f"address must be {_ADDRESS_FORMS}, got {address!r}")
        if address not in (None, "auto"):
            _split_address(address)
        self.address = address
        self.workers = _optional_count("workers", workers)
        self.num_cpus = _optional_count("num_cpus", num_cpus)
        self.connect_timeout = positive("connect_timeout", connect_timeout)
        if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
            raise ValueError(f"max_retries must be an integer >= 0, got {max_retries!r}")
        self.max_retries = max_retries
        self.ship = one_of(*SHIPPING)("ship", ship)
        self.time_limit = None if time_limit is None else positive("time_limit", time_limit)
        self.ran_on = {}
        self._started = False
        self._checked = False
        self._shared = None  # (shared, its object ref) while inside `with`
        self._nodes = {}  # node id -> address

    def check(self):
        """Raise :class:`GradwiseError` now if Ray is missing or the address does not answer.

        Lets a command fail in seconds, before it loads data or writes files.
        """
        ray = import_ray()
        if self.address is not None and not ray.is_initialized():
            resolve_ray_address(self.address, self.connect_timeout)

    def __enter__(self):
        ray = import_ray()
        self._checked = self.address is None  # a private instance is this machine
        if ray.is_initialized():
            return self
        if self.address is None:
            # address="local": a private instance even if `ray start` ran on this machine;
            # RAY_ADDRESS is hidden while it starts so that neither this process nor the
            # instance's own processes are pointed at another cluster.
            with _environment({_RAY_ADDRESS: None}):
                ray.init(
                    address="local",
                    _node_ip_address="127.0.0.1",  # private: nothing listens on the network
                    num_cpus=self.num_cpus or os.cpu_count() or 1,
                    include_dashboard=False,
                    log_to_driver=False,
                    runtime_env={"env_vars": ONE_THREAD_ENV},
                )
        else:
            address = resolve_ray_address(self.address, self.connect_timeout)
            try:
                ray.init(address=address, log_to_driver=False, runtime_env=job_env(self.ship))
            except (ConnectionError, ray.exceptions.RaySystemError) as err:
                raise GradwiseError(
                    f"cannot connect to the Ray cluster at {address}: {_first_line(err)}"
                ) from err
        self._started = True
        return self

    def __exit__(self, *exc):
        self._shared = None
        if self._started:
            import_ray().shutdown()
            self._started = False
        return False

    def run(self, fn, shared, tasks, *, label=None, memory=None):
        """Yield ``(key, fn(shared, task))`` as tasks finish; ``memory``: bytes per task."""
        ray = import_ray()
        if not ray.is_initialized():
            raise GradwiseError("RayExecutor.run must be called inside `with RayExecutor(...)`")
        tasks = list(tasks)
        if not tasks:
            return
        memory = None if memory is None else max(1, int(memory))
        check_ray_resources(ray, memory)
        if not self._checked:
            check_cluster_environment(ray)
            self._checked = True
        options = {"num_cpus": 1, "max_retries": self.max_retries}
        if memory is not None:
            options["memory"] = memory
        remote = ray.remote(**options)(_run_task)
        shared_ref = self._put(ray, shared)
        label = label or fn.__name__
        todo, pending = deque(tasks), {}  # ref -> (key, deadline)
        limit = self.time_limit
        try:
            while todo or pending:
                while todo and len(pending) < (self.workers or len(tasks)):
                    key, task = todo.popleft()
                    ref = remote.options(name=f"{label} {key}").remote(fn, shared_ref, task)
                    pending[ref] = (key, None if limit is None else time.monotonic() + limit)
                done, _ = ray.wait(list(pending), num_returns=1, timeout=self._wait(pending))
                for ref in done:
                    key, _ = pending.pop(ref)
                    yield key, self._outcome(ray, ref, key, label)
                for ref, (key, deadline) in list(pending.items()):
                    if deadline is not None and time.monotonic() >= deadline:
                        ray.cancel(ref, force=True)  # kills its worker: the memory comes back
                        del pending[ref]
                        self.ran_on[key] = {"node": None, "attempts": 1}
                        yield key, TaskLost(f"it ran past the time limit of {limit:g} s")
        finally:
            for ref in pending:
                ray.cancel(ref, force=True)

    def _wait(self, pending):
        """Seconds until the first deadline of the tasks in flight (``None``: no limit)."""
        deadlines = [deadline for _, deadline in pending.values() if deadline is not None]
        return None if not deadlines else max(0.0, min(deadlines) - time.monotonic())

    def _put(self, ray, shared):
        """``shared`` in the object store once per ``with`` block (the trials, then the refit)."""
        if self._shared is None or self._shared[0] is not shared:
            self._shared = (shared, ray.put(shared))
        return self._shared[1]

    def _outcome(self, ray, ref, key, label):
        """The result of the finished task ``ref``, or the TaskLost it became."""
        try:
            done = ray.get(ref)
        except Exception as err:
            reason = _ray_task_lost(ray, err)
            if reason is None:
                raise
            died = "died" in reason  # Ray retried it: every attempt was made
            self.ran_on[key] = {"node": None, "attempts": self.max_retries + 1 if died else 1}
            return TaskLost(reason)
        node = self._node_address(ray, done.node_id)
        self.ran_on[key] = {"node": node, "attempts": done.attempt + 1}
        for category, message in done.warnings:
            warnings.warn(f"{label} {key} on {node}: {message}", category, stacklevel=3)
        return done.result

    def _node_address(self, ray, node_id):
        if node_id not in self._nodes:
            self._nodes = {n["NodeID"]: n["NodeManagerAddress"] for n in ray.nodes()}
        return self._nodes.get(node_id, node_id)


_ADDRESS_FORMS = "'auto', 'HOST:PORT' or 'ray://HOST:PORT'"
_CLIENT = "ray://"


def _optional_count(name, value):
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    return value


def package_folder():
    """The folder of the gradwise package this process runs (what ``py_modules`` ships)."""
    return Path(_version.__file__).resolve().parent


def job_env(ship):
    """The Ray ``runtime_env`` of a job on a cluster: one BLAS thread, and gradwise shipped
    as ``ship`` says (``"pip"`` pins NumPy too: the same wheel brings the same BLAS)."""
    env = {"env_vars": dict(ONE_THREAD_ENV)}
    if ship == "py_modules":
        env["py_modules"] = [str(package_folder())]
        env["excludes"] = ["__pycache__", "*.pyc"]
    elif ship == "pip":
        import numpy

        env["pip"] = [f"gradwise=={_version.__version__}", f"numpy=={numpy.__version__}"]
    return env


def environment_report():
    """What a node must share with the driver for results to be identical: the versions of
    gradwise (``None`` where it cannot be imported) and NumPy, and NumPy's BLAS.

    Self-contained (it imports what it uses and reads no global) so that
    :func:`check_cluster_environment` can send it by value: it then runs on a node whose
    gradwise is missing or another version, and says so.
    """
    import importlib

    import numpy

    try:
        version = importlib.import_module("gradwise._version").__version__
    except ImportError:
        version = None
    try:
        blas = numpy.show_config(mode="dicts")["Build Dependencies"]["blas"]
        blas = f"{blas.get('name', '?')} {blas.get('version', '?')}"
    except Exception:  # an older NumPy without mode="dicts": the versions still say a lot
        blas = "unknown BLAS"
    return {"gradwise": version, "numpy": numpy.__version__, "blas": blas}


def check_cluster_environment(ray, timeout=CHECK_TIMEOUT):
    """Raise :class:`GradwiseError`, in one line naming the node, unless every live node with
    a CPU imports gradwise and reports this process's :func:`environment_report`.

    One tiny task per node, pinned there (it asks for no CPU), before any trial runs.
    """
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    here = environment_report()
    # A copy pickle cannot find by name: Ray sends its code, not "import gradwise".
    by_value = types.FunctionType(
        environment_report.__code__, {"__builtins__": builtins}, "environment_report"
    )
    probe = ray.remote(num_cpus=0, max_retries=0)(by_value)
    refs = {
        probe.options(
            name="gradwise version check",
            scheduling_strategy=NodeAffinitySchedulingStrategy(node["NodeID"], soft=False),
        ).remote(): node["NodeManagerAddress"]
        for node in _live_nodes(ray)
        if node.get("Resources", {}).get("CPU", 0) >= 1
    }
    # The probes are not cancelled on a refusal: they end in milliseconds, and cancelling
    # a task as it completes can crash this process's Ray core worker.
    for ref, node in refs.items():
        try:
            there = ray.get(ref, timeout=timeout)
        except ray.exceptions.GetTimeoutError as err:
            raise GradwiseError(
                f"the Ray node {node} did not answer gradwise's version check within {timeout:g} s"
            ) from err
        except ray.exceptions.RayError as err:
            raise GradwiseError(
                f"gradwise's version check failed on the Ray node {node}: "
                f"{type(_cause(err)).__name__}: {_first_line(_cause(err))}"
            ) from err
        if there["gradwise"] is None:
            raise GradwiseError(
                f"the Ray node {node} cannot import gradwise; ship it with the job "
                f"(--ship py_modules) or install gradwise {here['gradwise']} there"
            )
        if there != here:
            raise GradwiseError(
                f"the Ray node {node} runs {_environment_text(there)}, this process runs "
                f"{_environment_text(here)}: results would differ from a local run; "
                "install the same versions there"
            )


def _environment_text(report):
    return f"gradwise {report['gradwise']} with NumPy {report['numpy']} ({report['blas']})"


def _live_nodes(ray):
    return [n for n in ray.nodes() if n.get("Alive", n.get("alive", True))]


def check_ray_resources(ray, memory=None):
    """Raise :class:`GradwiseError` unless some live node of the cluster has a whole CPU (and
    ``memory`` bytes, when given).

    Every task asks for one CPU and its memory on one node; Ray would queue tasks that no
    node can take and wait for them forever, without a word.
    """
    total = ray.cluster_resources().get("CPU", 0)
    hint = "start the cluster with `ray start --head --num-cpus N`, N >= 1"
    if total < 1:
        raise GradwiseError(f"the Ray cluster has {total:g} CPUs; each trial needs 1; {hint}")
    nodes = _live_nodes(ray)
    with_cpu = [n for n in nodes if n.get("Resources", {}).get("CPU", 0) >= 1]
    if nodes and not with_cpu:
        raise GradwiseError(
            f"no node of the Ray cluster has a whole CPU ({total:g} CPUs in all, spread "
            f"over {len(nodes)} nodes); each trial needs 1 CPU on one node; {hint}"
        )
    if memory is None or not with_cpu:
        return
    largest = max(n.get("Resources", {}).get("memory", 0) for n in with_cpu)
    if largest < memory:
        raise GradwiseError(
            f"each trial needs {human_bytes(memory)} of memory (estimated from the data and "
            f"the model), but the largest Ray node with a CPU has {human_bytes(largest)}; "
            "give the nodes more (`ray start --memory BYTES`) or train on fewer rows"
        )


def _ray_task_lost(ray, err):
    """Why ``err`` (raised by ``ray.get``) means a task was lost, or ``None`` if it did not.

    Lost: the worker or its node died, Ray's memory monitor killed it, or the task could
    not be loaded on its node (gradwise or ``fn``'s module missing there).
    """
    exceptions = ray.exceptions
    died = tuple(
        getattr(exceptions, name)
        for name in ("WorkerCrashedError", "NodeDiedError", "OutOfMemoryError")
        if hasattr(exceptions, name)
    )
    if isinstance(err, died):
        return f"its Ray worker died ({type(err).__name__}: {_first_line(err)})"
    if isinstance(err, exceptions.RayTaskError):
        cause = _cause(err)
        if isinstance(cause, ImportError) or "No module named" in str(cause):
            return (
                f"it could not be loaded on its Ray node ({_first_line(cause)}); "
                "install gradwise (and the module of the task) there"
            )
    return None


def _cause(err):
    """The exception behind a RayTaskError (an argument or function that could not be
    loaded arrives wrapped in a RaySystemError)."""
    cause = getattr(err, "cause", None) or err
    return getattr(cause, "client_exc", None) or cause


def _first_line(err):
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    return lines[0] if lines else type(err).__name__


def import_ray():
    """The ``ray`` module, or a GradwiseError that says how to install it."""
    try:
        import ray
    except ImportError as err:
        raise GradwiseError(
            "the ray executor needs Ray: pip install 'gradwise[ray]' (or pip install ray)"
        ) from err
    return ray


def resolve_ray_address(address, timeout=5.0):
    """``HOST:PORT`` of the Ray cluster ``address`` names, checked to answer within ``timeout``.

    ``"auto"`` finds the cluster started on this machine by ``ray start``. Ray rewrites a
    loopback host to this machine's address before connecting; the check probes the address
    Ray will use. Raises :class:`GradwiseError` if nothing answers, or if what answers does
    not speak gRPC (HTTP/2), the protocol of Ray's control service.
    """
    import_ray()
    if address.startswith(_CLIENT):  # Ray Client: its server speaks gRPC too
        host, port = _split_address(address)
        probe_grpc(host, port, timeout)
        return f"{_CLIENT}{host}:{port}"
    try:
        from ray._private.services import canonicalize_bootstrap_address_or_die
    except ImportError:  # private helper moved: probe the address as given
        canonicalize_bootstrap_address_or_die = None
    if canonicalize_bootstrap_address_or_die is not None:
        try:
            address = canonicalize_bootstrap_address_or_die(address)
        except ConnectionError as err:
            raise GradwiseError(f"no Ray cluster found for address {address!r}: {err}") from err
    elif address == "auto":
        return address
    host, port = _split_address(address)
    probe_grpc(host, port, timeout)
    return f"{host}:{port}"


def probe_grpc(host, port, timeout=5.0):
    """Raise :class:`GradwiseError` unless an HTTP/2 server answers at ``host:port``.

    Sends the HTTP/2 client preface and an empty SETTINGS frame and waits for the server's
    first frame, which must be SETTINGS (type 4). Everything happens within ``timeout``.
    """
    where = f"{host}:{port}"
    hint = "start a cluster with `ray start --head` and pass the address it prints"
    deadline = time.monotonic() + timeout
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(
                b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"
            )
            header = b""
            while len(header) < 9:
                sock.settimeout(max(0.01, deadline - time.monotonic()))
                chunk = sock.recv(9 - len(header))
                if not chunk:
                    break
                header += chunk
    except TimeoutError as err:
        raise GradwiseError(
            f"no Ray cluster answers at {where} within {timeout:g} s; {hint}"
        ) from err
    except OSError as err:
        raise GradwiseError(
            f"no Ray cluster answers at {where} ({err.strerror or err}); {hint}"
        ) from err
    if len(header) < 9 or header[3] != 4:
        raise GradwiseError(f"the server at {where} is not a Ray cluster (no gRPC); {hint}")


def _split_address(address):
    text = address.strip()
    text = text[len(_CLIENT) :] if text.startswith(_CLIENT) else text
    host, sep, port = text.rpartition(":")
    if not sep or not host or "/" in host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"address must be {_ADDRESS_FORMS}, got {address!r}")
    return host.strip("[]"), int(port)


_RAY_ADDRESS = "RAY_ADDRESS"


class _environment:
    """Set environment variables for the duration of a ``with`` block, then restore them.

    A value of ``None`` removes the variable for that time.
    """

    def __init__(self, values):
        self.values = values

    def __enter__(self):
        self.saved = {name: os.environ.get(name) for name in self.values}
        for name, value in self.values.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value

    def __exit__(self, *exc):
        for name, value in self.saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        return False


# The shared object a pool worker received when it started (one per worker process), and
# the queue on which it says which task it starts (so a task that kills its worker is known).
_shared = None
_started = None


def _install_shared(shared, started=None):
    global _shared, _started
    _shared, _started = shared, started


def _call_with_installed(fn, index, task):
    if _started is not None:
        _started.put(index)  # a SimpleQueue writes at once, before fn can kill the process
    return fn(_shared, task)


class _Done(NamedTuple):
    """What a Ray task sends back: ``fn``'s result, and where and how it ran."""

    result: object
    node_id: str
    attempt: int  # 0 for the first
    warnings: list  # [(category, message)], each once


def _run_task(fn, shared, task):
    """``fn(shared, task)`` on a Ray worker, with the warnings it raises caught to be sent
    back (a worker's stderr goes to a log file on its node, not to the driver)."""
    import ray

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        result = fn(shared, task)
    seen = {}
    for w in caught:
        # Only a built-in category is sure to load on the driver; others keep their name.
        category = w.category if w.category.__module__ == "builtins" else UserWarning
        message = (
            str(w.message) if category is w.category else f"{w.category.__name__}: {w.message}"
        )
        seen.setdefault((category, message), None)
    return _Done(result, ray.get_runtime_context().get_node_id(), _attempt(), list(seen))


def _attempt():
    """How many times Ray started this task before (it retries one whose worker died)."""
    try:
        from ray._private.worker import global_worker

        return int(global_worker.core_worker.get_current_task_attempt_number())
    except (ImportError, AttributeError, TypeError, ValueError):  # a private API
        return 0
