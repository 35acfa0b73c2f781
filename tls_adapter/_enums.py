"""The PEP 543 enumerations: TLS protocol versions and ALPN protocol identifiers."""

from __future__ import annotations

import enum

__all__ = ["NextProtocol", "TLSVersion"]


class NextProtocol(enum.Enum):
    """Well-known application protocols negotiated inside TLS (ALPN identifiers).

    Arbitrary protocols may always be given as raw :class:`bytes` instead.
    """

    H2 = b"h2"
    H2C = b"h2c"
    HTTP1 = b"http/1.1"
    WEBRTC = b"webrtc"
    C_WEBRTC = b"c-webrtc"
    FTP = b"ftp"
    STUN = b"stun.nat-discovery"
    TURN = b"stun.turn"


class TLSVersion(enum.Enum):
    """TLS protocol versions.

    ``MINIMUM_SUPPORTED`` and ``MAXIMUM_SUPPORTED`` are open-ended bounds meaning
    "the lowest/highest version the backend supports". Values are the strings the
    stdlib's ``SSLSocket.version()`` reports, so ``TLSVersion(sock.version())`` works.
    """

    MINIMUM_SUPPORTED = "MINIMUM_SUPPORTED"
    SSLv2 = "SSLv2"
    SSLv3 = "SSLv3"
    TLSv1 = "TLSv1"
    TLSv1_1 = "TLSv1.1"
    TLSv1_2 = "TLSv1.2"
    TLSv1_3 = "TLSv1.3"
    MAXIMUM_SUPPORTED = "MAXIMUM_SUPPORTED"


_RANK = {v: i for i, v in enumerate(TLSVersion)}


def version_rank(version: TLSVersion) -> int:
    """Order versions: MINIMUM_SUPPORTED < SSLv2 < ... < TLSv1_3 < MAXIMUM_SUPPORTED."""
    return _RANK[version]


def protocol_bytes(protocol: NextProtocol | bytes) -> bytes:
    """The wire identifier of an ALPN protocol given as a member or raw bytes."""
    return protocol.value if isinstance(protocol, NextProtocol) else protocol


def protocol_from_bytes(value: bytes) -> NextProtocol | bytes:
    """The :class:`NextProtocol` member for *value*, or *value* itself if unknown."""
    try:
        return NextProtocol(value)
    except ValueError:
        return value
