"""The demo's ASGI application (Starlette): the page, its two static files and one
WebSocket per tab.

Starlette is small, typed and well kept, speaks ASGI with WebSockets and ships its own
test client; uvicorn serves it. The page is three files packaged in ``static/``, served
from a fixed table read at start (no path from a request ever reaches the file system).
Each WebSocket is one tab: it gets a :class:`~.session.Session` when it opens (refused
once :data:`~.limits.MAX_SESSIONS` are open) and loses it when it closes. Messages are
handled one at a time, in order; an error answers that message only.
"""

import asyncio
import contextlib
import json
import traceback
from importlib import resources

from starlette.applications import Starlette
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from . import limits
from .guard import SameOrigin, own_origins
from .messages import parse, whole
from .session import Session, hello

#: The page's files: name -> media type. Nothing else is served.
STATIC = {"index.html": "text/html", "demo.css": "text/css", "demo.js": "text/javascript"}

#: No script, style, image or connection from anywhere but this server (images may be
#: the data URLs the server sends), and no framing by another page.
POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
#: A message's ``id``: any whole number JavaScript counts exactly.
MAX_ID = 2**53

HEADERS = {"Content-Security-Policy": POLICY, "X-Content-Type-Options": "nosniff",
           "Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}  # fmt: skip


class Tabs:
    """The open tabs' sessions, at most ``limit`` of them."""

    def __init__(self, limit):
        self.limit, self.open = limit, set()

    def add(self, session):
        if len(self.open) >= self.limit:
            return False
        self.open.add(session)
        return True

    def drop(self, session):
        self.open.discard(session)
        session.close()


def create_app(host="127.0.0.1", port=8000, dataset=None, max_sessions=limits.MAX_SESSIONS,
               also=None):  # fmt: skip
    """The application for a server at ``host:port`` (and at ``also:port``, the address a
    host name was bound to); ``dataset`` (a ``gw.data`` Dataset) is what view 3 trains on
    (``None``: no view 3)."""
    files = {name: _read(name) for name in STATIC}
    tabs = Tabs(max_sessions)

    async def page(request):
        return HTMLResponse(files["index.html"], headers=HEADERS)

    async def static(request):
        name = request.path_params["name"]
        if name not in STATIC or name == "index.html":
            return Response("not found\n", status_code=404, media_type="text/plain")
        return Response(files[name], media_type=STATIC[name], headers=HEADERS)

    async def tab(websocket: WebSocket):
        await websocket.accept()
        # Bounded: a tab that sends without reading is made to wait (its messages are read
        # no faster than its replies leave), and its training's progress updates beyond the
        # bound are dropped rather than kept.
        outbox = asyncio.Queue(maxsize=limits.MAX_QUEUED)
        loop = asyncio.get_running_loop()

        def offer(message):
            with contextlib.suppress(asyncio.QueueFull):
                outbox.put_nowait(message)

        def send_from_thread(message):
            try:
                loop.call_soon_threadsafe(offer, message)
            except RuntimeError:
                pass  # the server has shut down: the tab is gone, nobody to tell

        session = Session(dataset, send_from_thread)
        if not tabs.add(session):
            await websocket.send_json({"type": "error", "message":
                                       f"{tabs.limit} tabs are open: close one and reload"})
            await websocket.close(code=1013)
            return  # fmt: skip
        sender = asyncio.create_task(_drain(websocket, outbox))
        try:
            await outbox.put(hello(session))
            while True:
                text = await websocket.receive_text()
                # In a worker thread: a long request (200 steps) leaves other tabs served.
                await outbox.put(await asyncio.to_thread(_answer, session, text))
        except WebSocketDisconnect:
            pass
        finally:
            tabs.drop(session)
            sender.cancel()

    app = Starlette(routes=[
        Route("/", page),
        Route("/static/{name}", static),
        WebSocketRoute("/ws", tab),
    ])  # fmt: skip
    app.state.tabs = tabs
    hosts = own_origins(host, port) | (own_origins(also, port) if also else set())
    return SameOrigin(app, hosts)


def _answer(session, text):
    """The reply to one message's text: the view's new state, or one ``error`` line; either
    carries the message's ``id`` (a whole number the page chose) back."""
    tag, about = {}, {}
    try:
        message = parse(text)
        about = {"about": message["type"][:40]}
        if "id" in message:
            tag = {"id": whole("id", message["id"], 0, MAX_ID)}
        return {**session.handle(message), **tag}
    except (ValueError, TypeError, ArithmeticError) as err:  # the page asked for it
        line = str(err).splitlines()[0] if str(err) else type(err).__name__
        return {"type": "error", "message": line, **about, **tag}
    except Exception as err:  # a fault of the server's: say so, log it, keep serving the tab
        traceback.print_exc()
        line = f"internal error ({type(err).__name__}): the server logged it"
        return {"type": "error", "message": line, **about, **tag}


async def _drain(websocket, outbox):
    while True:
        message = await outbox.get()
        await websocket.send_text(json.dumps(message, allow_nan=False))


def _read(name):
    return (resources.files(__package__) / "static" / name).read_bytes()
