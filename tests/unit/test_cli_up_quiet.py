"""``fleet up`` shows the fleet's own lines only: what Ray Serve's driver logs while the apps
deploy goes to ``<data_dir>/logs/up.log``, named at the end (they were INFO lines on stderr).

The stack itself is stood in for (starting a Ray head here would take minutes): the stand-in logs
through Serve's own logger, as ``serve.run`` does while ``local.up`` deploys the apps; the CLI,
the logging set-up and the file are real."""

from __future__ import annotations

import logging
from pathlib import Path

from cluster import local
from cluster.cli import main
from cluster.cli import stack as stack_cli

READY = "Application 'gateway' is ready at http://127.0.0.1:8000/."


def _deploying(cfg, *, extra):
    logging.getLogger("ray.serve").info(READY)  # what Serve says while the apps deploy
    return local.StackStatus(data_dir=str(cfg.data_dir), parts=[], started=["serve apps"])


def test_fleet_up_sends_serve_lines_to_a_log_file_it_names(tmp_path, capfd, monkeypatch):
    import ray.serve  # noqa: F401 - imported as the tests run it: the auth set-up is a no-op

    monkeypatch.setenv("RAY_AUTH_TOKEN_PATH", str(tmp_path / "token"))  # no token of the machine
    monkeypatch.setenv("FLEET_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setattr(stack_cli.local, "up", _deploying)
    monkeypatch.setattr(stack_cli, "stack_apps", lambda cfg, *, model: [])
    main(["up"])
    for handler in logging.getLogger("ray.serve").handlers:
        handler.flush()
    out, err = capfd.readouterr()
    assert "is ready" not in out and "is ready" not in err, (out, err)
    log = tmp_path / "data" / "logs" / "up.log"
    assert READY in log.read_text()
    assert out.splitlines()[-1] == f"other programs' log lines: {log}", out
    assert Path(out.splitlines()[-1].split(": ", 1)[1]).is_file()
