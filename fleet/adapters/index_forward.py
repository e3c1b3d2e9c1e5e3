"""Inside the installer's sandbox, which has no network of its own: a loopback proxy port that
carries every connection to the host's index proxy (:mod:`fleet.adapters.index_proxy`) over a
unix socket, for the one command it runs (uv, told by ``HTTPS_PROXY``)::

    python -I -m fleet.adapters.index_forward <socket> -- uv pip install ...

Standard library only. It holds no privilege: what the installer may reach is decided by the
host's proxy, not here.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading

PROXY_VARS = ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "https_proxy", "http_proxy", "all_proxy")


def _copy(src: socket.socket, dst: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while data := src.recv(65536):
            dst.sendall(data)
    with contextlib.suppress(OSError):
        dst.shutdown(socket.SHUT_WR)  # the other direction may still be talking


def _bridge(client: socket.socket, path: str) -> None:
    upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        upstream.connect(path)
        back = threading.Thread(target=_copy, args=(upstream, client), daemon=True)
        back.start()
        _copy(client, upstream)
        back.join()
    except OSError:
        pass
    finally:
        client.close()
        upstream.close()


def _serve(listener: socket.socket, path: str) -> None:
    while True:
        try:
            client, _ = listener.accept()
        except OSError:
            return
        threading.Thread(target=_bridge, args=(client, path), daemon=True).start()


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[1] != "--":
        print("usage: index_forward SOCKET -- COMMAND...", file=sys.stderr)
        return 2
    path, cmd = argv[0], argv[2:]
    if os.path.basename(cmd[0]) != "uv" or cmd[1:4] != ["pip", "install", "--no-config"]:
        print("index_forward runs only `uv pip install --no-config ...`", file=sys.stderr)
        return 2  # the policy allows this module for the installer: it carries nothing else
    listener = socket.create_server(("127.0.0.1", 0))
    threading.Thread(target=_serve, args=(listener, path), daemon=True).start()
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    env = {k: v for k, v in os.environ.items() if k.lower() != "no_proxy"}
    env.update(dict.fromkeys(PROXY_VARS, url))
    try:
        return subprocess.run(cmd, env=env, check=False).returncode
    finally:
        listener.close()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
