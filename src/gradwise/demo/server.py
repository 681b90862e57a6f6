"""Serving the demo with uvicorn: in the foreground (``gradwise demo``), or in a thread
for the tests and the benchmark (:func:`serving`).

The socket is bound first (port 0 picks a free one), then the application is built for
that exact address, so the Host/Origin check knows the port even when it was chosen here.
"""

import contextlib
import socket
import threading
import time

import uvicorn

from . import limits
from .app import create_app


def bind(host, port):
    """A listening TCP socket on ``host:port`` (``port=0``: any free port)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.listen(64)
    return sock


def make_server(sock, dataset=None, name=None, **app_options):
    """A uvicorn server for the demo on the bound ``sock``; returns ``(server, url)``.
    ``name`` is the host name it was asked to listen on (default: the socket's address);
    requests may give either."""
    address, port = sock.getsockname()[:2]
    host = name or address
    app = create_app(host, port, dataset, also=address, **app_options)
    config = uvicorn.Config(
        app,
        log_level="warning",
        ws_max_size=limits.MAX_MESSAGE_BYTES,
        ws_ping_interval=None,  # a tab's state is dropped when its socket closes, not on pings
        lifespan="off",
    )
    shown = f"[{host}]" if ":" in host else host
    return uvicorn.Server(config), f"http://{shown}:{port}/"


def serve(sock, dataset=None, name=None, on_ready=None):
    """Serve on ``sock`` until interrupted; ``on_ready(url)`` is called once it listens."""
    server, url = make_server(sock, dataset, name)
    if on_ready is not None:
        threading.Thread(target=_when_started, args=(server, on_ready, url), daemon=True).start()
    server.run(sockets=[sock])


def _when_started(server, callback, url):
    while not server.started:
        time.sleep(0.02)
    callback(url)


@contextlib.contextmanager
def serving(dataset=None, host="127.0.0.1", **app_options):
    """Run the demo in a thread on a free port of ``host``; yields its URL; shuts it down
    (and waits for it) on leaving."""
    sock = bind(host, 0)
    server, url = make_server(sock, dataset, **app_options)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the demo server did not start")
            time.sleep(0.01)
        yield url
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
