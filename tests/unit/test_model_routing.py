"""Per-story model overrides (`fleet run --model ROLE=MODEL`, `POST /stories {"models": ...}`)."""

from __future__ import annotations

import pytest

from fleet.config import load
from fleet.errors import UnknownName, UserError
from fleet.orchestrator.routing import check_overrides, parse_pairs


@pytest.fixture(scope="module")
def cfg():
    return load("models.yaml"), load("roles.yaml")


def test_valid_overrides_pass(cfg):
    assert check_overrides({"developer": "scripted", "qa": "local-smollm2"}, *cfg) == {
        "developer": "scripted",
        "qa": "local-smollm2",
    }
    assert parse_pairs(["developer=scripted", " qa = local-smollm2 "]) == {
        "developer": "scripted",
        "qa": "local-smollm2",
    }


def test_unknown_role_or_model_or_a_person_is_a_clear_error(cfg):
    with pytest.raises(UnknownName, match=r"unknown role 'tester'; valid: .*developer"):
        check_overrides({"tester": "scripted"}, *cfg)
    with pytest.raises(UnknownName, match=r"unknown model 'gpt-9'; valid: .*scripted"):
        check_overrides({"developer": "gpt-9"}, *cfg)
    with pytest.raises(UserError, match="'po' is a person"):
        check_overrides({"po": "scripted"}, *cfg)
    for bad in ("developer", "=scripted", "developer="):
        with pytest.raises(UserError, match="ROLE=MODEL"):
            parse_pairs([bad])
