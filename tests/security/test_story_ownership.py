"""Story ownership through the real gateway: a story belongs to the PO who created it.

Another PO gets 403 on its gates and transitions (unless the story is shared), a viewer acts on
nothing, an admin may act on every story; tokens are kept as digests, never in plaintext."""

from __future__ import annotations

import json

import pytest
from fleet_stack import GOOD_STORY, wait_for

from serve_apps.gateway.tokens import add_principal, load_store, principals_file


def _create(stack, client, story_id: str, who: str, **extra) -> dict:
    body = {**GOOD_STORY, "id": story_id, **extra}
    r = client.post(f"{stack.base_url}/stories", json=body, headers=stack.headers(who))
    assert r.status_code == 201, r.text
    return wait_for(client, stack, story_id, lambda b: (b["parked"] or {}).get("gate") == "scope")


def _approve(stack, client, story_id: str, who: str) -> int:
    url = f"{stack.base_url}/stories/{story_id}/approvals"
    return client.post(url, json={"gate": "scope"}, headers=stack.headers(who)).status_code


def _transition(stack, client, story_id: str, who: str) -> int:
    url = f"{stack.base_url}/stories/{story_id}/transitions"
    return client.post(url, json={"target": "DESIGN"}, headers=stack.headers(who)).status_code


@pytest.fixture(scope="module")
def alices(stack, client):
    return _create(stack, client, "own-alice", "alice")


def test_another_po_cannot_steer_a_story_it_does_not_own(stack, client, alices):
    for who in ("bob", "po", "viewer"):
        assert _approve(stack, client, "own-alice", who) == 403, who
        assert _transition(stack, client, "own-alice", who) == 403, who
    r = client.post(
        f"{stack.base_url}/stories/own-alice/approvals",
        json={"gate": "scope"},
        headers=stack.headers("bob"),
    )
    assert r.json()["error"] == "forbidden" and "another PO" in r.json()["message"]
    now = client.get(f"{stack.base_url}/stories/own-alice", headers=stack.headers("bob")).json()
    assert (now["state"], now["parked"], now["transitions"]) == (
        alices["state"],
        alices["parked"],
        alices["transitions"],
    )  # reading is allowed, nothing changed
    assert _approve(stack, client, "own-alice", "alice") == 202  # its PO may


def test_a_shared_story_may_be_steered_by_any_po_but_not_a_viewer(stack, client):
    _create(stack, client, "own-shared", "alice", shared=True)
    assert _approve(stack, client, "own-shared", "viewer") == 403
    assert _approve(stack, client, "own-shared", "bob") == 202


def test_an_admin_may_steer_every_story(stack, client):
    _create(stack, client, "own-bobs", "bob")
    assert _approve(stack, client, "own-bobs", "alice") == 403
    assert _approve(stack, client, "own-bobs", "admin") == 202


def test_a_viewer_creates_nothing(stack, client):
    body = {**GOOD_STORY, "id": "own-viewer"}
    r = client.post(f"{stack.base_url}/stories", json=body, headers=stack.headers("viewer"))
    assert r.status_code == 403


def test_option_shaped_repo_or_branch_is_refused_at_the_gateway(stack, client):
    for extra in ({"repo": "--upload-pack=touch /tmp/pwned"}, {"branch": "-b"}):
        body = {**GOOD_STORY, "id": "own-opt", **extra}
        r = client.post(f"{stack.base_url}/stories", json=body, headers=stack.headers("alice"))
        assert r.status_code == 422, r.text


def test_principal_tokens_are_stored_as_digests(tmp_path):
    token = add_principal(tmp_path, "carol", "po")
    stored = principals_file(tmp_path).read_text()
    assert token not in stored and json.loads(stored)[0]["name"] == "carol"
    assert oct(principals_file(tmp_path).stat().st_mode & 0o777) == "0o600"
    who = load_store(tmp_path).principal(token)
    assert who is not None and (who.name, who.role) == ("carol", "po")
    assert load_store(tmp_path).principal(token + "x") is None
    with pytest.raises(ValueError, match="already exists"):
        add_principal(tmp_path, "carol", "po")
