"""The servers the client tests talk to, besides the shared ones in tests/http_servers.py.

* :class:`HypercornServer` -- hypercorn (a separate process) serving ``asgi_app.py``
  over TLS 1.2/1.3, HTTP/2 or HTTP/1.1 as ALPN chooses, with a certificate from the
  test CA (written at run time by ``write_pki_files``; no key is committed).
* :class:`RefusingServers` -- three in-process HTTPS servers (stdlib ``ssl``) whose
  certificates a validating client must refuse: from a CA nobody trusts, for another
  host name, and expired.
"""

from __future__ import annotations

import contextlib
import datetime
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import trustme

from ..http_servers import HTTPSTestServer, PKIFiles, _Process
from ..peers import PKI

APP = Path(__file__).with_name("asgi_app.py")

#: The kinds of bad certificate every client must refuse.
REFUSALS = ("untrusted", "wrong-host", "expired")


class HypercornServer(_Process):
    """hypercorn on 127.0.0.1 serving :data:`APP` over TLS (h2 and http/1.1 by ALPN)."""

    name = "hypercorn"

    def __init__(self, workdir: Path, files: PKIFiles) -> None:
        super().__init__(workdir)
        self.files = files

    def command(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "hypercorn",
            "--bind",
            f"127.0.0.1:{self.port}",
            "--certfile",
            self.files.server_chain,
            "--keyfile",
            self.files.server_key,
            "--workers",
            "0",  # serve in this process: no spawned worker to wait for
            "--graceful-timeout",
            "1",
            "--keep-alive",
            "30",
            f"{APP}:app",
        ]

    def url(self, path: str = "/", host: str = "localhost") -> str:
        """``https://HOST:PORT/PATH`` (the certificate names localhost and 127.0.0.1)."""
        return f"https://{host}:{self.port}{path}"


@dataclass(frozen=True)
class Refusal:
    """A server whose certificate must be refused, and the host name to reach it by."""

    kind: str
    server: HTTPSTestServer
    host: str = "localhost"

    @property
    def port(self) -> int:
        """The server's port on 127.0.0.1."""
        return self.server.port

    def url(self, path: str = "/") -> str:
        """``https://HOST:PORT/PATH``."""
        return f"https://{self.host}:{self.port}{path}"


@contextlib.contextmanager
def refusing_servers(pki: PKI, other_ca: trustme.CA) -> Iterator[dict[str, Refusal]]:
    """One running server per kind in :data:`REFUSALS`, keyed by kind.

    * ``untrusted``: a certificate for localhost/127.0.0.1 from a CA nobody trusts;
    * ``wrong-host``: a certificate from the trusted CA, for ``wrong.example`` only;
    * ``expired``: a certificate from the trusted CA for localhost/127.0.0.1 that
      expired yesterday.
    """
    now = datetime.datetime.now(datetime.timezone.utc)
    certs = {
        "untrusted": other_ca.issue_cert("localhost", "127.0.0.1"),
        "wrong-host": pki.ca.issue_cert("wrong.example"),
        "expired": pki.ca.issue_cert(
            "localhost",
            "127.0.0.1",
            not_before=now - datetime.timedelta(days=30),
            not_after=now - datetime.timedelta(days=1),
        ),
    }
    with contextlib.ExitStack() as stack:
        yield {
            kind: Refusal(kind, stack.enter_context(HTTPSTestServer(pki, cert=cert)))
            for kind, cert in certs.items()
        }
