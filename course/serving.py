"""Serving a local page safely: who can reach it, whether its address can be used, and how much one request may send.

The drawing pad is a web server. On 127.0.0.1 only this computer reaches it; any
other address opens it to the network, which deserves one line of warning. Every
request it accepts is read whole into memory before any check of its content, so
its size is bounded here first, from its ``Content-Length``.
"""

from __future__ import annotations

import errno
import ipaddress
import re
import socket
from collections.abc import Awaitable, Callable
from typing import Any

from .errors import CourseError

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def _is_numeric(host: str) -> bool:
    """Whether ``host`` is written as an address (digits and dots, or IPv6 colons) rather than a name."""
    return ":" in host or re.fullmatch(r"[0-9.]+", host) is not None


def _addresses(host: str, port: int) -> list[tuple[Any, ...]]:
    """The socket addresses ``host`` stands for.

    Raises:
        CourseError: ``host`` is not a valid address, or a name this computer cannot resolve.
    """
    if _is_numeric(host):
        try:
            ipaddress.ip_address(host)
        except ValueError:
            raise CourseError(f"--host {host} is not a valid IP address; use 127.0.0.1 (this computer only) "
                              "or an address of this computer") from None
    try:
        return [info[4] for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)]
    except (socket.gaierror, UnicodeError) as error:
        raise CourseError(f"--host {host} is not a name or address this computer knows ({error}); "
                          "use 127.0.0.1 (this computer only)") from None


def reach_note(host: str) -> str | None:
    """The one line that says who can open a page served on ``host``; ``None`` for this computer only.

    Raises:
        CourseError: ``host`` is not a valid address or a known name.
    """
    if all(ipaddress.ip_address(address[0].split("%")[0]).is_loopback for address in _addresses(host, 0)):
        return None
    return (f"note: --host {host} serves the page to every computer that can reach this one over the network, "
            "not only to you; anyone there can open it and send it drawings and files "
            "(use --host 127.0.0.1 to keep it to this computer)")


def check_bindable(host: str, port: int) -> None:
    """Make sure a server can listen on ``host``:``port``, and say why not in words.

    Raises:
        CourseError: ``host`` is not an address of this computer, the port is taken, or it
            needs rights the user does not have.
    """
    for address in _addresses(host, port):
        family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server itself does
            try:
                probe.bind(address)
            except OSError as error:
                raise CourseError(_bind_refusal(host, port, error)) from None


def _bind_refusal(host: str, port: int, error: OSError) -> str:
    if error.errno == errno.EADDRINUSE:
        return f"port {port} on {host} is taken by another program; choose another with --port N"
    if error.errno in (errno.EACCES, errno.EPERM):
        return f"port {port} on {host} needs administrator rights; choose one above 1023 with --port N"
    if error.errno == errno.EADDRNOTAVAIL:
        return (f"cannot serve on --host {host}: it is not an address of this computer; "
                "use 127.0.0.1 (this computer only) or one of its own addresses")
    return f"cannot serve on {host}:{port} ({error.strerror or error}); choose another --host or --port"


class BodyLimit:
    """ASGI middleware that refuses a request body larger than its route allows, before it is read.

    Uploads (paths ending in ``/upload``) may send ``upload_bytes``; every other request
    ``other_bytes``. A body without a ``Content-Length`` is refused as well: the server
    could not know its size before reading it.
    """

    def __init__(self, app: ASGIApp, upload_bytes: int, other_bytes: int) -> None:
        self.app, self.upload_bytes, self.other_bytes = app, upload_bytes, other_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            refusal = self._refusal(scope)
            if refusal:
                status, text = refusal
                await send({"type": "http.response.start", "status": status,
                            "headers": [(b"content-type", b"text/plain; charset=utf-8"), (b"connection", b"close")]})
                await send({"type": "http.response.body", "body": text.encode()})
                return
        await self.app(scope, receive, send)

    def _refusal(self, scope: Scope) -> tuple[int, str] | None:
        """The status and message refusing this request's body, or ``None`` to let it through."""
        headers = dict(scope.get("headers", []))
        length = headers.get(b"content-length")
        if length is None:
            chunked = b"chunked" in headers.get(b"transfer-encoding", b"").lower()
            return (411, "send a Content-Length with the request's body") if chunked else None
        limit = self.upload_bytes if scope["path"].endswith("/upload") else self.other_bytes
        if not length.isdigit():
            return 400, "the request's Content-Length is not a number"
        if int(length) > limit:
            return 413, f"the request sends {int(length) / 2**20:.1f} MiB; this page takes at most {limit / 2**20:g} MiB"
        return None
