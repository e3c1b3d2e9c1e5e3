"""One data directory, one Redis+FalkorDB server: a `fleet up` whose port setting changed while
the directory's server still runs is refused (two servers appending to one AOF would corrupt it),
and a pidfile whose PID now belongs to another process is never signalled."""

from __future__ import annotations

import subprocess
import sys

import pytest

from cluster.graphserver import GraphServer, free_port, pid_alive
from fleet.errors import StorageUnavailable


def test_a_second_server_on_the_same_data_directory_is_refused(tmp_path):
    first = GraphServer(data_dir=tmp_path, port=free_port())
    pid = first.start()
    try:
        moved = GraphServer(data_dir=tmp_path, port=free_port())
        with pytest.raises(StorageUnavailable) as err:
            moved.start()
        text = str(err.value)
        assert f"pid {pid}" in text and f"127.0.0.1:{first.port}" in text
        assert f"FLEET_REDIS_PORT={first.port}" in text
        assert moved.running_pid() is None and first.running_pid() == pid  # nothing else started
        assert (tmp_path / "redis.pid").read_text().strip() == str(pid)
    finally:
        assert first.stop()
    assert not pid_alive(pid)
    second = GraphServer(data_dir=tmp_path, port=free_port())  # once stopped, any port will do
    try:
        assert second.start() and second.running_pid()
    finally:
        second.stop()


def test_a_reused_pid_in_the_pidfile_is_not_signalled(tmp_path):
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (tmp_path / "redis.pid").write_text(str(other.pid))
        server = GraphServer(data_dir=tmp_path, port=free_port())
        assert server.stop() is False
        assert other.poll() is None  # still running: not ours to stop
        assert not (tmp_path / "redis.pid").exists()
    finally:
        other.kill()
        other.wait()
