"""The dependency installer's only route is the package index.

The attack, through the workspace runner (real bubblewrap, real uv, real PyPI, the real Redis of
the test session): a repository's in-tree build backend, run by uv in the sandboxed installer,
writes a key into the fleet's Redis (plain RESP on its loopback port), and connects to another
loopback listener (the gateway, any local HTTP service) directly and through the installer's
proxy. The installer used to share the host's network namespace: both reached. Now it has no
network of its own and the host's proxy tunnels only to the index hosts.
"""

from __future__ import annotations

import socket
import subprocess
import threading
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from fleet.adapters.audited_sandbox import AuditedSandbox
from fleet.adapters.bwrap_sandbox import BwrapSandbox
from fleet.adapters.index_proxy import IndexProxy
from fleet.adapters.workspace import WorkspaceRunner
from fleet.config import load
from fleet.contracts import RunContext
from fleet.policy import PolicyEngine

CTX = RunContext(story_id="s-net", task_id="t-1", role="developer", phase="build")
PYPROJECT = """[build-system]
requires = ["setuptools>=61"]
build-backend = "backend"
backend-path = ["_build"]

[project]
name = "numerals"
version = "0.1.0"
dependencies = ["roman==5.2"]

[tool.setuptools]
packages = ["numerals"]
"""
BACKEND = """import os
import socket

from setuptools.build_meta import *  # noqa: F403


def _try(how):
    try:
        how()
    except OSError:
        pass


def _redis():
    with socket.create_connection(("127.0.0.1", {redis}), timeout=3) as s:
        s.sendall(b"*3\\r\\n$3\\r\\nSET\\r\\n$12\\r\\nfleet:pwned0\\r\\n$1\\r\\n1\\r\\n")
        s.recv(64)


def _listener():
    with socket.create_connection(("127.0.0.1", {port}), timeout=3) as s:
        s.sendall(b"direct")


def _through_the_proxy():
    proxy = os.environ.get("HTTPS_PROXY", "").rsplit(":", 1)
    if len(proxy) == 2 and proxy[1].isdigit():
        with socket.create_connection(("127.0.0.1", int(proxy[1])), timeout=3) as s:
            s.sendall(b"CONNECT 127.0.0.1:{port} HTTP/1.1\\r\\n\\r\\nproxied")
            s.recv(64)


for attempt in (_redis, _listener, _through_the_proxy):
    _try(attempt)
"""


class Listener:
    """A loopback TCP service that records every connection it gets."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.got: list[bytes] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(2)
                try:
                    self.got.append(conn.recv(64) or b"(connected)")
                except OSError:
                    self.got.append(b"(connected)")


@pytest.fixture
def listener():
    found = Listener()
    yield found
    found.sock.close()


def _repo(path: Path, redis: int, port: int) -> Path:
    files = {
        "pyproject.toml": PYPROJECT,
        "_build/backend.py": BACKEND.format(redis=redis, port=port),
        "numerals/__init__.py": '"""Numerals."""\n',
        "tests/test_numerals.py": "import roman\n\n\ndef test_roman():\n"
        "    assert roman.toRoman(4) == 'IV'\n",
    }
    for rel, text in files.items():
        (path / rel).parent.mkdir(parents=True, exist_ok=True)
        (path / rel).write_text(text)
    git = ["git", "-C", str(path), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(["git", "init", "-q", "-b", "trunk", str(path)], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "fixture"], check=True)
    return path


def test_the_installer_reaches_neither_redis_nor_loopback_services(tmp_path, listener, redis_url):
    import redis

    client = redis.Redis.from_url(redis_url)
    client.delete("fleet:pwned0")
    port = urlsplit(redis_url).port
    assert port is not None
    sandbox = AuditedSandbox(BwrapSandbox(prewarm=0), PolicyEngine(load("policy.yaml")))
    runner = WorkspaceRunner(sandbox, root=tmp_path / "runs")
    repo = _repo(tmp_path / "repo", port, listener.port)
    out = runner.execute(str(repo), {"NOTES.md": "n\n"}, branch="f/net", context=CTX)
    report = out.report
    assert report is not None and report.build_ok, report  # the index itself was reachable
    assert (report.unit_passed, report.unit_failed) == (1, 0), report.notes
    assert client.get("fleet:pwned0") is None
    assert listener.got == []


def test_the_proxy_tunnels_only_to_the_index_hosts(tmp_path, listener):
    """The host's proxy itself: a CONNECT to anything but an index host on 443 is refused."""
    sock = tmp_path / "index.sock"
    with IndexProxy(sock, hosts=("pypi.org", "localhost")) as proxy:
        for target in (
            f"127.0.0.1:{listener.port}",
            f"localhost:{listener.port}",
            "localhost:443",  # an allowed name that resolves to loopback
            "pypi.org:80",
            "example.com:443",
        ):
            client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            client.connect(str(sock))
            client.sendall(f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n".encode())
            assert client.recv(64).startswith(b"HTTP/1.1 403"), target
            client.close()
        assert len(proxy.refused) == 5
    assert listener.got == []
