"""``gradwise demo``: start the interactive page on this machine and open it."""

import sys
import threading
import webbrowser

from .. import demo
from ..data import DATASETS

DEFAULT_PORT = 8765
LOCAL_HOST = "127.0.0.1"


def register(subparsers):
    p = subparsers.add_parser(
        "demo",
        help="an interactive page: a classifier on 2-D points, optimizers racing, training",
        description="Start a local web server and open its page in a browser. Every number "
        "on the page is computed by gradwise; the page only draws and sends what you do. "
        'Needs the extra: pip install "gradwise[demo]".',
    )
    p.add_argument("--port", type=int, default=DEFAULT_PORT,
                   help=f"port to listen on (default {DEFAULT_PORT}; 0 picks a free one)")
    p.add_argument("--host", default=LOCAL_HOST,
                   help="address to listen on (default 127.0.0.1: this machine only)")
    p.add_argument("--no-browser", action="store_true", help="print the address, open nothing")
    p.add_argument("--data", default="cifar10-sample",
                   help=f"what view 3 trains on: {', '.join(DATASETS)} or a path "
                   "gw.data.load reads (default cifar10-sample)")  # fmt: skip
    p.set_defaults(func=run)


def run(args):
    if not 0 <= args.port <= 65535:
        raise ValueError(f"--port must be in 0..65535, got {args.port}")
    missing = demo.missing_requirements()
    if missing:
        print(f"gradwise demo: error: {demo.INSTALL_HINT} (missing: {', '.join(missing)})",
              file=sys.stderr)  # fmt: skip
        return 2
    from ..data import load
    from ..demo.server import bind, serve

    if args.host != LOCAL_HOST:
        print(f"warning: listening on {args.host}: anyone who can reach it can use this page "
              "(the default, 127.0.0.1, is this machine only)", file=sys.stderr)  # fmt: skip
    sock = bind(args.host, args.port)  # a port in use is said before the data is read
    try:
        dataset = load(args.data, progress=False)
        if not dataset.is_image:
            raise ValueError(f"--data {args.data}: view 3 trains on images; this holds features")
    except BaseException:
        sock.close()
        raise

    def ready(url):
        print(f"gradwise demo at {url} (Ctrl-C stops it)", flush=True)
        if not args.no_browser:
            threading.Thread(target=webbrowser.open, args=(url,), daemon=True).start()

    serve(sock, dataset, name=args.host, on_ready=ready)
    return 0
