"""Gateway tokens are compared in constant time, against every token, with no prefix tricks."""

from __future__ import annotations

from serve_apps.gateway.router import role_of

TOKENS = {"po-secret-token-aaaa": "po", "viewer-token-bbbb": "viewer"}


def test_exact_token_maps_to_its_role():
    assert role_of(TOKENS, "po-secret-token-aaaa") == "po"
    assert role_of(TOKENS, "viewer-token-bbbb") == "viewer"


def test_prefixes_suffixes_case_and_empty_tokens_are_refused():
    for attempt in (
        "po-secret-token-aaa",
        "po-secret-token-aaaaX",
        "PO-SECRET-TOKEN-AAAA",
        "",
        " po-secret-token-aaaa",
        "päss",
    ):
        assert role_of(TOKENS, attempt) is None
