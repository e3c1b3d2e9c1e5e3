"""``fleet demo`` shows the fleet's own lines only: Ray Serve's driver log lines go to a file
named at the end (they were INFO lines on the terminal between the fleet's)."""

from __future__ import annotations

import logging

from cluster.cli.quiet import foreign_logs_to


def test_serve_driver_lines_go_to_the_file_not_the_terminal(tmp_path, capfd, monkeypatch):
    import ray.serve  # noqa: F401 - imported as the tests run it: the auth set-up is a no-op

    monkeypatch.setenv("RAY_AUTH_TOKEN_PATH", str(tmp_path / "token"))  # no token of the machine
    path = foreign_logs_to(tmp_path / "logs" / "demo.log")
    logging.getLogger("ray.serve").info("Application 'gateway' is ready at http://127.0.0.1:8000/.")
    for handler in logging.getLogger("ray.serve").handlers:
        handler.flush()
    out, err = capfd.readouterr()
    assert "is ready" not in out and "is ready" not in err
    assert "Application 'gateway' is ready" in path.read_text()
