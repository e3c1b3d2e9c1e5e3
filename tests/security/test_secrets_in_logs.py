"""Secrets never reach a log line: records emitted through the fleet's loggers after
``install_log_redaction()`` are masked (message, arguments, tracebacks, handlers added
later), the ``fleet`` CLI installs it and masks its error output, and every actor built by
``actors.builder`` has it installed in its own Ray worker process."""

from __future__ import annotations

import io
import logging
import sys
import uuid

import pytest

from cluster.cli import main
from cluster.graphserver import free_port
from fleet.context.masking import install_log_redaction

GH_TOKEN = "ghp_" + "R8mK2vQ9xL4nT7pW1sY6zB3cD5fG0hJ8kM2n"
AWS_KEY = "AKIA" + "Z7Q3V5X2M4N6P8R0"
DB_PASSWORD = "S3cr3t-Passw0rd-77"


@pytest.fixture
def restored_factory():
    """Install in this test only: the pytest process is shared with other tests."""
    before = logging.getLogRecordFactory()
    # Another test in this process (e.g. one calling the CLI's main) may have installed it
    # already: start from the stdlib factory so the control really runs without redaction.
    logging.setLogRecordFactory(logging.LogRecord)
    yield
    logging.setLogRecordFactory(before)


def _capture(logger: logging.Logger) -> tuple[io.StringIO, logging.Handler]:
    buf = io.StringIO()
    handler = logging.StreamHandler(buf)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    logger.addHandler(handler)
    return buf, handler


def _emit_secrets(log: logging.Logger) -> None:
    log.warning("pushing with token %s", GH_TOKEN)  # secret in the arguments
    log.warning("malformed %s %s", f"Bearer {GH_TOKEN}")  # bad %-args: no crash, and masked anyway
    log.error(f"AWS_ACCESS_KEY_ID={AWS_KEY} rejected")  # secret in the message itself
    try:
        raise ConnectionError(f"cannot reach redis://fleet:{DB_PASSWORD}@10.0.0.5:6379/0")
    except ConnectionError:
        log.exception("storage down")  # secret in the traceback


def test_log_records_are_masked_after_install(restored_factory):
    install_log_redaction()
    install_log_redaction()  # idempotent: one layer, not two
    log = logging.getLogger(f"fleet.sec.{uuid.uuid4().hex[:6]}")
    log.propagate = False
    buf, handler = _capture(log)  # a handler added after install is covered too
    try:
        _emit_secrets(log)
    finally:
        log.removeHandler(handler)
    out = buf.getvalue()
    assert "storage down" in out and "Traceback" in out and "rejected" in out and "malformed" in out
    assert GH_TOKEN not in out and AWS_KEY not in out and DB_PASSWORD not in out
    for mask in ("github_token", "aws_access_key", "url_password"):
        assert f"[REDACTED:{mask}]" in out, mask


def test_without_install_the_same_records_leak(restored_factory):
    # the control for the test above: the masking comes from install_log_redaction, not the handler
    log = logging.getLogger(f"fleet.sec.{uuid.uuid4().hex[:6]}")
    log.propagate = False
    buf, handler = _capture(log)
    try:
        _emit_secrets(log)
    finally:
        log.removeHandler(handler)
    assert GH_TOKEN in buf.getvalue() and DB_PASSWORD in buf.getvalue()


def test_cli_installs_redaction_and_masks_its_error_output(restored_factory, capsys):
    url = f"redis://:{DB_PASSWORD}@127.0.0.1:{free_port()}/0"  # nothing listens there
    rc = main(["export", "--url", url])
    err = capsys.readouterr().err
    assert rc == 2 and "fleet export: error:" in err and "127.0.0.1" in err
    assert DB_PASSWORD not in err and "[REDACTED:url_password]" in err
    log = logging.getLogger(f"fleet.cli.{uuid.uuid4().hex[:6]}")
    log.propagate = False
    buf, handler = _capture(log)
    try:
        log.warning("retrying with %s", GH_TOKEN)
    finally:
        log.removeHandler(handler)
    assert GH_TOKEN not in buf.getvalue() and "[REDACTED:github_token]" in buf.getvalue()


class LogProbe:
    """An actor that logs secrets in its own worker process and returns what was written."""

    def emit(self) -> str:
        log = logging.getLogger("fleet.actors.probe")
        log.propagate = False
        buf, handler = _capture(log)
        try:
            _emit_secrets(log)
        finally:
            log.removeHandler(handler)
        return buf.getvalue()


def test_actors_built_by_the_builder_mask_their_log_records(ray_cluster):
    from ray import cloudpickle

    from actors.builder import ActorOptions, build

    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # the worker cannot import tests/
    name = f"log-probe-{uuid.uuid4().hex[:8]}"
    actor = build(LogProbe, ActorOptions(name=name, namespace="swe-fleet-test"))
    try:
        out = ray_cluster.get(actor.emit.remote(), timeout=60)
    finally:
        ray_cluster.kill(actor, no_restart=True)
    assert "storage down" in out and "Traceback" in out
    assert GH_TOKEN not in out and AWS_KEY not in out and DB_PASSWORD not in out
    assert "[REDACTED:github_token]" in out and "[REDACTED:url_password]" in out
