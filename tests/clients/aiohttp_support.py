"""aiohttp helpers (imported only once the tests made sure aiohttp is installed)."""

from __future__ import annotations

from typing import Any

import aiohttp


class RecordingConnector(aiohttp.TCPConnector):
    """A ``TCPConnector`` that remembers the transport of every connection it hands out
    (a response may release its connection to the pool before the test looks at it)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.transports: list[Any] = []

    async def connect(self, req: Any, traces: Any, timeout: Any) -> Any:
        """Connect as ``TCPConnector`` does, and remember the connection's transport."""
        connection = await super().connect(req, traces, timeout)
        self.transports.append(connection.transport)
        return connection

    def ssl_object(self) -> Any:
        """The TLS object of the last connection made."""
        assert self.transports, "aiohttp made no connection"
        return self.transports[-1].get_extra_info("ssl_object")
