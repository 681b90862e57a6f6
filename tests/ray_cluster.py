"""A real two-node Ray cluster for tests, started with ``ray start`` and stopped by the ids of
its own processes (``ray stop`` would stop every Ray process on the machine).

The head node listens on 127.0.0.1 (with a Ray Client server); the second node, on
127.0.0.2, runs a Python that has Ray and NumPy but not gradwise: a virtual environment
whose one ``.pth`` line names this environment's site-packages. A folder added by a
``.pth`` line is not a site folder, so its own ``.pth`` files (an editable install's among
them) are not run there: ``import ray`` works, ``import gradwise`` does not, until the job
ships it. Every port comes from one small fixed block, checked free before anything starts;
the nodes' workers get the environment of a fresh shell (no ``PYTHONPATH``, no
``RAY_ADDRESS``). Ray's token authentication (its default for a new cluster) is on: the
token is the one Ray keeps in ``~/.ray/auth_token`` (made if there is none); a driver
given an explicit address uses it when ``RAY_AUTH_MODE=token`` (:attr:`Cluster.env`).
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

RAY_CLI = str(Path(sys.executable).with_name("ray"))
HEAD_IP, BARE_IP = "127.0.0.1", "127.0.0.2"

#: Candidate port blocks, away from Ray's defaults (6379, 10001, 8265, 10002-19999 for
#: workers, 23000-24000 for Ray Client's per-driver servers) and below Linux's ephemeral
#: ports (32768 and up), which any process may be handed.
PORT_BLOCKS = (28100, 28400, 28700)
BLOCK_SIZE = 300

#: Port offsets in a block: the head's services, the second node's, then the workers' ranges.
HEAD_PORTS = {"--port": 1, "--ray-client-server-port": 2}
NODE_PORTS = {
    "--node-manager-port": 3,
    "--object-manager-port": 4,
    "--metrics-export-port": 5,
    "--dashboard-agent-listen-port": 6,
    "--dashboard-agent-grpc-port": 7,
    "--runtime-env-agent-port": 8,
}
SECOND_NODE_SHIFT = 10  # the second node's services: the head's offsets + 10
WORKER_PORTS = {HEAD_IP: (100, 199), BARE_IP: (200, 299)}


def port_is_free(port):
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as servers do: TIME_WAIT is free
        try:
            s.bind(("0.0.0.0", port))
        except OSError:
            return False
    return True


def free_block():
    """The first of :data:`PORT_BLOCKS` whose every port is free, or ``None``."""
    for base in PORT_BLOCKS:
        if all(port_is_free(base + offset) for offset in range(BLOCK_SIZE)):
            return base
    return None


def bare_python(folder):
    """A Python that imports ray and numpy but not gradwise (checked), made in ``folder``."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True)
    python = folder / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    ours = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    Path(purelib, "gw_parent.pth").write_text("\n".join(sorted(ours)) + "\n")
    probe = "import ray, numpy, importlib.util; print(importlib.util.find_spec('gradwise'))"
    done = subprocess.run(
        [str(python), "-c", probe], capture_output=True, text=True, env=node_env(), cwd=folder
    )
    if done.returncode != 0 or done.stdout.strip() != "None":
        raise RuntimeError(
            "could not make a Python without gradwise for the second Ray node (is gradwise "
            f"installed as a plain package, not editable?): {done.stdout}{done.stderr}"
        )
    return python


def node_env():
    """The environment of a Ray node: this one without PYTHONPATH and RAY_ADDRESS (the
    nodes must not see the checkout's ``src``), with Ray's token authentication on."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "RAY_ADDRESS")}
    env["RAY_AUTH_MODE"] = "token"
    return env


class Cluster:
    """A head node (2 CPUs) and a node without gradwise (1 CPU), in ``root``."""

    def __init__(self, root, base):
        self.root, self.base = Path(root), base
        self.address = f"{HEAD_IP}:{base + HEAD_PORTS['--port']}"
        self.client_address = f"ray://{HEAD_IP}:{base + HEAD_PORTS['--ray-client-server-port']}"
        #: The environment a driver of this cluster runs in.
        self.env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
        self.env["RAY_AUTH_MODE"] = "token"

    def start(self):
        env = node_env()
        if not Path.home().joinpath(".ray", "auth_token").exists():
            # A token for the cluster, kept where Ray keeps it, if there is none yet.
            self._ray([RAY_CLI, "get-auth-token", "--generate"], env)
        head = [RAY_CLI, "start", "--head", "--num-cpus", "2"]
        head += [f"{flag}={self.base + offset}" for flag, offset in HEAD_PORTS.items()]
        head += self._node_flags(HEAD_IP, 0) + ["--include-dashboard=false"]
        head_starting = self._popen(head, env)
        python = bare_python(self.root / "bare")  # while the head starts
        joined = [str(python), "-c", "from ray.scripts.scripts import main; main()", "start"]
        joined += [f"--address={self.address}", "--num-cpus", "1"]
        joined += self._node_flags(BARE_IP, SECOND_NODE_SHIFT)
        # The second node waits (retrying for a while) until the head's control service
        # answers: it is started without waiting for the head's `ray start` to return.
        node_starting = self._popen(joined, env)
        self._wait(head_starting, "ray start --head")
        try:
            self._wait(node_starting, "ray start --address")
        except RuntimeError:  # the head took too long: once more, now that it is up
            self._ray(joined, env)

    def _popen(self, command, env):
        return subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
            cwd=self.root,
        )

    def _wait(self, process, what):
        output, _ = process.communicate(timeout=120)
        if process.returncode != 0:
            raise RuntimeError(f"{what} failed:\n{output}")

    def _node_flags(self, ip, shift):
        low, high = WORKER_PORTS[ip]
        flags = [f"--node-ip-address={ip}", f"--temp-dir={self.root / ip}"]
        flags += [f"{flag}={self.base + offset + shift}" for flag, offset in NODE_PORTS.items()]
        flags += [f"--min-worker-port={self.base + low}", f"--max-worker-port={self.base + high}"]
        return flags + ["--disable-usage-stats"]

    def _ray(self, command, env):
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=120, env=env, cwd=self.root
        )
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command[:4])} failed:\n{done.stdout}{done.stderr}")
        return done.stdout

    def stop(self):
        # The Ray Client server names the head's port, not the temporary folder. Nothing of
        # a throwaway cluster needs to shut down cleanly: SIGKILL at once.
        head = processes_mentioning(f":{self.base + HEAD_PORTS['--port']}", also="ray")
        stop(descendants_and(processes_mentioning(str(self.root)) | head), signals=[signal.SIGKILL])
        shutil.rmtree(self.root, ignore_errors=True)


def start_cluster():
    """A started :class:`Cluster`, or ``None`` with the reason when no port block is free."""
    base = free_block()
    if base is None:
        return None, f"no free block of {BLOCK_SIZE} ports at {PORT_BLOCKS}"
    cluster = Cluster(tempfile.mkdtemp(prefix="gw-rc-", dir="/tmp"), base)  # short: sockets
    try:
        cluster.start()
    except BaseException:
        cluster.stop()
        raise
    return cluster, None


# -- stopping what a test started, by process id ----------------------------------------------


def descendants_and(pids):
    """``pids`` and every process below them."""
    children = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = set(), list(pids)
    while todo:
        pid = todo.pop()
        if pid not in found:
            found.add(pid)
            todo.extend(children.get(pid, []))
    return found


def processes_mentioning(text, also=""):
    """The processes (other than this one) whose command line holds ``text`` (and ``also``)."""
    pids = set()
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            line = cmdline.read_bytes()
            if text.encode() in line and also.encode() in line:
                pids.add(int(cmdline.parent.name))
        except OSError:
            continue
    pids.discard(os.getpid())
    return pids


def stop(pids, signals=(signal.SIGTERM, signal.SIGKILL)):
    """SIGTERM, then SIGKILL after 5 s, to each of ``pids`` (or each of ``signals``)."""
    for sig in signals:
        for pid in pids:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and any(Path(f"/proc/{p}").exists() for p in pids):
            time.sleep(0.1)
