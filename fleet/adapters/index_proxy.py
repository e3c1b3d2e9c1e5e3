"""The installer's only route: a host-side CONNECT proxy to the package index, on a unix socket.

The dependency install runs without a network namespace of its own network (``--unshare-net``:
nothing but its own loopback), so it cannot reach the host's services (the fleet's Redis, the
gateway, any loopback listener) or anything else. Its one way out is this proxy's unix socket,
in a host-owned directory the sandbox sees read-only; :mod:`fleet.adapters.index_forward`
turns it into a loopback ``HTTPS_PROXY`` inside the sandbox. The proxy opens a tunnel only for
``CONNECT <host>:443`` to the configured index hosts (by exact name; the host resolves them),
never to a loopback, private, link-local or shared (100.64/10) address, and answers 403 to
everything else. TLS stays end to end between uv and the index.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import socket
import threading
from pathlib import Path

INDEX_HOSTS = ("pypi.org", "files.pythonhosted.org")  # uv's default index and its file host
_HEAD_MAX = 8192
# Narrower than fleet.adapters.addresses on purpose: this machine's package index resolves to a
# documentation range (pypi.org -> 203.0.113.80), which the full IANA table refuses. What the
# proxy must never reach is the host's own services: loopback, private, link-local, CGNAT, ULA.
_REFUSED_NETS = tuple(
    ipaddress.ip_network(n)
    for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7")
)


def _refused(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    special = ip.is_loopback or ip.is_link_local or ip.is_unspecified or ip.is_multicast
    return special or any(ip in net for net in _REFUSED_NETS if net.version == ip.version)


class IndexProxy:
    """A CONNECT proxy on the unix socket ``path`` that tunnels only to ``hosts`` on ``port``.

    ``refused`` lists what was asked for and refused (``host:port``), for findings and tests.
    """

    def __init__(
        self,
        path: Path,
        *,
        hosts: tuple[str, ...] = INDEX_HOSTS,
        port: int = 443,
        max_connections: int = 32,
        idle_s: float = 120.0,
    ) -> None:
        self.path = path
        self.hosts = frozenset(h.lower() for h in hosts)
        self.port = port
        self.idle_s = idle_s
        self.refused: list[str] = []
        self._slots = threading.BoundedSemaphore(max_connections)
        self._listener: socket.socket | None = None

    def __enter__(self) -> IndexProxy:
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(str(self.path))  # in a fresh host-owned directory: nothing to follow
        os.chmod(self.path, 0o666)  # the sandbox user connects (its mount is read-only)
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._listener is not None:
            with contextlib.suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)
            self._listener.close()
            self._listener = None

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            if not self._slots.acquire(blocking=False):
                client.close()  # more tunnels than any install needs
                continue
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        try:
            client.settimeout(self.idle_s)
            head, rest = _read_head(client)
            upstream = self._open(head)
            if upstream is None:
                client.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
                return
            with upstream:
                client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                if rest:
                    upstream.sendall(rest)
                back = threading.Thread(target=_copy, args=(upstream, client), daemon=True)
                back.start()
                _copy(client, upstream)
                back.join()
        except OSError:
            pass
        finally:
            client.close()
            self._slots.release()

    def _open(self, head: bytes) -> socket.socket | None:
        """A connection to the host ``head`` asks for, if it is allowed; else None."""
        words = head.split(b"\r\n", 1)[0].decode("latin-1").split()
        target = words[1] if len(words) == 3 and words[0] == "CONNECT" else "?"
        host, _, port = target.rpartition(":")
        host = host.strip("[]").lower()
        if host not in self.hosts or port != str(self.port):
            self.refused.append(target[:200])
            return None
        for *_, address in socket.getaddrinfo(host, self.port, type=socket.SOCK_STREAM):
            if _refused(str(address[0])):
                continue
            with contextlib.suppress(OSError):
                upstream = socket.create_connection((str(address[0]), self.port), timeout=30)
                upstream.settimeout(self.idle_s)
                return upstream
        self.refused.append(target[:200])
        return None


def _read_head(client: socket.socket) -> tuple[bytes, bytes]:
    """The request head (up to the blank line) and whatever came after it."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = client.recv(4096)
        if not chunk or len(data) > _HEAD_MAX:
            raise OSError("no request head")
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    return head, rest


def _copy(src: socket.socket, dst: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while data := src.recv(65536):
            dst.sendall(data)
    with contextlib.suppress(OSError):
        dst.shutdown(socket.SHUT_WR)
