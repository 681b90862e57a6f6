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
"""

import concurrent.futures as cf
import multiprocessing
import os
import socket
import time
from concurrent.futures.process import BrokenProcessPool

from .._validate import positive
from ..errors import GradwiseError

#: Environment that pins a worker's BLAS (OpenBLAS, MKL, OpenMP, Accelerate) to one thread.
ONE_THREAD_ENV = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "VECLIB_MAXIMUM_THREADS": "1",
}

EXECUTORS = ("local", "ray", "serial")


class TaskLost(GradwiseError):
    """Yielded (not raised) by ``run`` in place of the result of a task that never finished:
    its worker process died, or the task could not be loaded where it was sent. ``str()``
    says why."""


def get_executor(name="local", *, workers=None, address=None, connect_timeout=5.0):
    """The executor called ``name``: ``"local"`` (default), ``"ray"`` or ``"serial"``.

    ``workers`` sizes the local pool (default: every core); ``address`` is the Ray cluster
    (``"auto"`` or ``"HOST:PORT"``; ``None`` starts a private local Ray instance).
    """
    if name == "local":
        if address is not None:
            raise ValueError("--address is only used with the ray executor")
        return LocalExecutor(workers=workers)
    if name == "ray":
        return RayExecutor(address=address, num_cpus=workers, connect_timeout=connect_timeout)
    if name == "serial":
        if address is not None:
            raise ValueError("--address is only used with the ray executor")
        return SerialExecutor()
    known = ", ".join(repr(n) for n in EXECUTORS)
    raise ValueError(f"executor must be one of {known}, got {name!r}")


class SerialExecutor:
    """Runs every task in this process, one after the other (debugging, notebooks).

    Unlike the pools it uses this process's BLAS threads, so its floating-point results
    may differ in the last bits from theirs.
    """

    name = "serial"

    def check(self):
        """Nothing to check: this process is always there."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def run(self, fn, shared, tasks):
        for key, task in tasks:
            yield key, fn(shared, task)


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

    def run(self, fn, shared, tasks):
        tasks = list(tasks)
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
            started, lost = yield from self._run_pool(fn, shared, tasks, batch, workers)
            if not lost:
                continue
            running = lost & started  # the task that killed its worker is one of these
            unstarted = [i for i in batch if i in lost and i not in running]
            if len(running) == 1:
                yield (
                    tasks[running.pop()][0],
                    TaskLost(f"its worker process died ({_BROKEN_REASON})"),
                )
            elif not running:
                raise GradwiseError(
                    f"the local worker processes died before running any task ({_BROKEN_REASON})"
                )
            else:
                alone.extend(sorted(running))
            todo = unstarted + todo

    def _run_pool(self, fn, shared, tasks, batch, workers):
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
    all cores) and stops it on exit, whatever ``RAY_ADDRESS`` says; ``"auto"`` or
    ``"HOST:PORT"`` connects to a running cluster (``ray start --head``) and leaves it
    running. If Ray is already initialised in this process, that instance is used as it is.
    A task whose worker dies is retried ``max_retries`` times (Ray's default, 3) before it
    is yielded as :class:`TaskLost`.
    """

    name = "ray"

    def __init__(self, address=None, num_cpus=None, connect_timeout=5.0, max_retries=3):
        if address is not None and (not isinstance(address, str) or not address.strip()):
            raise ValueError(f"address must be 'auto' or 'HOST:PORT', got {address!r}")
        if address not in (None, "auto"):
            _split_address(address)
        if num_cpus is not None and (
            isinstance(num_cpus, bool) or not isinstance(num_cpus, int) or num_cpus < 1
        ):
            raise ValueError(f"num_cpus must be an integer >= 1, got {num_cpus!r}")
        self.address = address
        self.num_cpus = num_cpus
        self.connect_timeout = positive("connect_timeout", connect_timeout)
        if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
            raise ValueError(f"max_retries must be an integer >= 0, got {max_retries!r}")
        self.max_retries = max_retries
        self._started = False

    def check(self):
        """Raise :class:`GradwiseError` now if Ray is missing or the address does not answer.

        Lets a command fail in seconds, before it loads data or writes files.
        """
        ray = import_ray()
        if self.address is not None and not ray.is_initialized():
            resolve_ray_address(self.address, self.connect_timeout)

    def __enter__(self):
        ray = import_ray()
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
                ray.init(
                    address=address,
                    log_to_driver=False,
                    runtime_env={"env_vars": ONE_THREAD_ENV},
                )
            except ConnectionError as err:
                raise GradwiseError(
                    f"cannot connect to the Ray cluster at {address}: {err}"
                ) from err
        self._started = True
        return self

    def __exit__(self, *exc):
        if self._started:
            import_ray().shutdown()
            self._started = False
        return False

    def run(self, fn, shared, tasks):
        ray = import_ray()
        if not ray.is_initialized():
            raise GradwiseError("RayExecutor.run must be called inside `with RayExecutor(...)`")
        tasks = list(tasks)
        if not tasks:
            return
        check_ray_resources(ray)
        remote = ray.remote(num_cpus=1, max_retries=self.max_retries)(_call_with_shared)
        shared_ref = ray.put(shared)
        pending = {remote.remote(fn, shared_ref, task): key for key, task in tasks}
        try:
            while pending:
                done, _ = ray.wait(list(pending), num_returns=1)
                for ref in done:
                    key = pending.pop(ref)
                    try:
                        result = ray.get(ref)
                    except Exception as err:
                        reason = _ray_task_lost(ray, err)
                        if reason is None:
                            raise
                        result = TaskLost(reason)
                    yield key, result
        finally:
            for ref in pending:
                ray.cancel(ref, force=True)


def check_ray_resources(ray):
    """Raise :class:`GradwiseError` unless some live node of the cluster has a whole CPU.

    Every task asks for one CPU on one node; Ray would queue tasks that no node can take
    and wait for them forever, without a word.
    """
    total = ray.cluster_resources().get("CPU", 0)
    hint = "start the cluster with `ray start --head --num-cpus N`, N >= 1"
    if total < 1:
        raise GradwiseError(f"the Ray cluster has {total:g} CPUs; each trial needs 1; {hint}")
    nodes = [n for n in ray.nodes() if n.get("Alive", n.get("alive", True))]
    if nodes and not any(n.get("Resources", {}).get("CPU", 0) >= 1 for n in nodes):
        raise GradwiseError(
            f"no node of the Ray cluster has a whole CPU ({total:g} CPUs in all, spread "
            f"over {len(nodes)} nodes); each trial needs 1 CPU on one node; {hint}"
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
        cause = getattr(err, "cause", None)
        if isinstance(cause, exceptions.RaySystemError):  # an argument could not be loaded
            cause = getattr(cause, "client_exc", cause)
        if isinstance(cause, ImportError) or "No module named" in str(cause):
            return (
                f"it could not be loaded on its Ray node ({_first_line(cause)}); "
                "install gradwise (and the module of the task) there"
            )
    return None


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
    host, sep, port = address.strip().rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"address must be 'auto' or 'HOST:PORT', got {address!r}")
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


def _call_with_shared(fn, shared, task):
    return fn(shared, task)
