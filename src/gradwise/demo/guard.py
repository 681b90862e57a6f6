"""Only the page this server serves may talk to it: ``Host`` and ``Origin`` are checked on
every HTTP request and WebSocket handshake, before the application sees it.

A page on another site can make a browser send requests to 127.0.0.1 (and DNS rebinding
can even give it a same-origin name for it); refusing every request whose ``Host`` is not
this server's own address, and every one whose ``Origin`` is another site's, closes both
doors. A WebSocket handshake must carry an ``Origin`` (browsers always send one).
"""


def own_origins(host, port):
    """The ``host:port`` names this server answers to (127.0.0.1 and localhost are one)."""
    names = {host} | ({"127.0.0.1", "localhost"} if host in ("127.0.0.1", "localhost") else set())
    return {f"[{name}]:{port}" if ":" in name else f"{name}:{port}" for name in names}


class SameOrigin:
    """ASGI middleware: refuse (HTTP 403, or a closed handshake) a foreign Host/Origin."""

    def __init__(self, app, hosts):
        self.app, self.hosts = app, frozenset(hosts)
        self.origins = frozenset(f"http://{h}" for h in self.hosts)

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        reason = self.refusal(headers, websocket=scope["type"] == "websocket")
        if reason is None:
            return await self.app(scope, receive, send)
        if scope["type"] == "websocket":
            await receive()  # the websocket.connect event
            await send({"type": "websocket.close", "code": 1008, "reason": reason})
            return
        body = (reason + "\n").encode()
        await send({"type": "http.response.start", "status": 403,
                    "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                                (b"content-length", str(len(body)).encode())]})  # fmt: skip
        await send({"type": "http.response.body", "body": body})

    def refusal(self, headers, websocket):
        """Why a request with these headers is refused, or ``None``."""
        host = headers.get("host")
        if host not in self.hosts:
            return f"refused: Host {(host or '')[:60]!r} is not this server"
        origin = headers.get("origin")
        if origin is None and websocket:
            return "refused: a WebSocket must say its Origin"
        if origin is not None and origin not in self.origins:
            return f"refused: Origin {origin[:60]!r} is not this server's page"
        return None
