"""`fleet up` joins its head as a driver; a head whose raylet registers late is tried again."""

from __future__ import annotations

import pytest

import cluster.fleet_apps as apps
from fleet.config import fleet_config


@pytest.fixture
def calls(monkeypatch):
    import ray

    made: list[str] = []
    state = {"up": False}

    def init(*, address, **_kw):
        made.append(address)
        if len(made) < state["fail"] + 1:
            raise ConnectionError(f"Failed to connect to Ray cluster at {address}")
        state["up"] = True

    monkeypatch.setattr(ray, "init", init)
    monkeypatch.setattr(ray, "is_initialized", lambda: state["up"])
    monkeypatch.setattr(ray, "shutdown", lambda: None)
    monkeypatch.setattr(apps.time, "sleep", lambda _s: None)
    return made, state


def test_a_late_head_is_tried_again(calls):
    made, state = calls
    state["fail"] = apps.CONNECT_ATTEMPTS - 1
    apps.connect(fleet_config())
    assert len(made) == apps.CONNECT_ATTEMPTS


def test_a_head_that_never_answers_is_a_clear_error(calls):
    made, state = calls
    state["fail"] = apps.CONNECT_ATTEMPTS
    with pytest.raises(apps.AppsUnavailable) as err:
        apps.connect(fleet_config())
    assert "the Ray driver did not come up" in str(err.value)
    assert f"{apps.CONNECT_ATTEMPTS} attempts" in str(err.value)
    assert len(made) == apps.CONNECT_ATTEMPTS
