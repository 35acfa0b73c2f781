"""The ASGI application hypercorn serves for the client tests (run in hypercorn's process).

Every request is answered with JSON saying what the server saw: the HTTP version it
served (``"2"`` for HTTP/2, chosen by ALPN), the method, the path and the scheme.
Nothing else; the tests compare it with what the client says it did.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

Scope = dict[str, Any]
Message = dict[str, Any]


async def app(
    scope: Scope,
    receive: Callable[[], Awaitable[Message]],
    send: Callable[[Message], Awaitable[None]],
) -> None:
    """Answer every HTTP request with what the server saw; accept lifespan events."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    more = True
    while more:  # drain the request body
        message = await receive()
        more = message.get("more_body", False) and message["type"] == "http.request"
    body = json.dumps(
        {
            "http_version": scope["http_version"],
            "method": scope["method"],
            "path": scope["path"],
            "scheme": scope["scheme"],
        }
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
