"""The gateway over real HTTP (Ray Serve on the real local cluster): auth, errors, commands, SSE."""

from __future__ import annotations

import json

from fleet_stack import GOOD_STORY, wait_for


def test_healthz_needs_no_token_and_sees_redis_and_orchestrator(stack, client):
    r = client.get(f"{stack.base_url}/healthz")
    assert r.status_code == 200 and r.json() == {
        "status": "ok",
        "redis": True,
        "orchestrator": True,
    }


def test_missing_or_unknown_token_is_401_wrong_role_is_403(stack, client):
    url = f"{stack.base_url}/stories"
    r = client.get(url)
    assert r.status_code == 401 and r.json()["error"] == "unauthorized"
    assert "Bearer" in r.json()["message"] and r.headers["www-authenticate"] == "Bearer"
    assert client.get(url, headers={"Authorization": "Bearer nope"}).status_code == 401
    r = client.post(url, json=GOOD_STORY, headers=stack.headers("viewer"))
    assert r.status_code == 403 and "po role" in r.json()["message"]
    assert client.get(url, headers=stack.headers("viewer")).status_code == 200


def test_invalid_bodies_are_422_naming_the_field(stack, client):
    url = f"{stack.base_url}/stories"
    r = client.post(url, json={"description": "no title"}, headers=stack.headers())
    assert r.status_code == 422 and r.json()["field"] == "body.title"
    r = client.post(url, json={**GOOD_STORY, "rigor": "L9"}, headers=stack.headers())
    assert r.status_code == 422 and r.json()["field"] == "body.rigor"
    r = client.post(
        url, content=b"{not json", headers={**stack.headers(), "Content-Type": "application/json"}
    )
    assert r.status_code == 422 and r.json()["error"] == "invalid_request"


def test_oversized_body_is_413(stack, client):
    big = {**GOOD_STORY, "description": "x" * 30_000}
    r = client.post(f"{stack.base_url}/stories", json=big, headers=stack.headers())
    assert r.status_code == 413 and r.json()["error"] == "too_large"


def test_unknown_story_is_404_and_approval_out_of_turn_is_409(stack, client):
    r = client.get(f"{stack.base_url}/stories/nope", headers=stack.headers("viewer"))
    assert r.status_code == 404 and "not found" in r.json()["message"]
    r = client.post(
        f"{stack.base_url}/stories", json={**GOOD_STORY, "id": "gw-409"}, headers=stack.headers()
    )
    assert r.status_code == 201
    wait_for(client, stack, "gw-409", lambda b: b["parked"] is not None)
    r = client.post(
        f"{stack.base_url}/stories/gw-409/approvals",
        json={"gate": "acceptance"},
        headers=stack.headers(),
    )
    assert r.status_code == 409 and "parked at gate 'scope'" in r.json()["message"]
    r = client.post(
        f"{stack.base_url}/stories", json={**GOOD_STORY, "id": "gw-409"}, headers=stack.headers()
    )
    assert r.status_code == 409 and "already exists" in r.json()["message"]


def test_po_gates_park_and_resume_to_done_with_sse_and_report(stack, client):
    url = f"{stack.base_url}/stories"
    r = client.post(url, json={**GOOD_STORY, "id": "gw-done"}, headers=stack.headers())
    assert r.status_code == 201 and r.json()["state"] in ("BACKLOG", "DRAFT")
    gates = []
    for _ in range(3):
        body = wait_for(client, stack, "gw-done", lambda b: b["parked"] is not None or b["outcome"])
        if body["outcome"]:
            break
        gates.append(body["parked"]["gate"])
        r = client.post(
            f"{url}/gw-done/approvals", json={"approved": True}, headers=stack.headers()
        )
        assert r.status_code == 202 and r.json()["type"] == "story.approved"
    body = wait_for(client, stack, "gw-done", lambda b: b["outcome"] is not None)
    assert gates == ["scope", "design", "acceptance"] and body["state"] == "DONE"

    # SSE: the whole history, then the stream closes at story.done; resumable from an entry id.
    with client.stream("GET", f"{url}/gw-done/events", headers=stack.headers("viewer")) as resp:
        assert resp.headers["content-type"].startswith("text/event-stream")
        frames = [f for f in resp.read().decode().split("\n\n") if f.startswith("id:")]
    types = [f.split("\n")[1].removeprefix("event: ") for f in frames]
    assert (
        types[0] == "story.created" and types[-1] == "story.done" and len(types) == body["events"]
    )
    third = frames[2].split("\n")[0].removeprefix("id: ")
    with client.stream(
        "GET", f"{url}/gw-done/events", headers={**stack.headers("viewer"), "Last-Event-ID": third}
    ) as resp:
        resumed = [f for f in resp.read().decode().split("\n\n") if f.startswith("id:")]
    assert resumed == frames[3:]

    md = client.get(f"{url}/gw-done/report", headers=stack.headers("viewer"))
    assert md.status_code == 200 and md.headers["content-type"].startswith("text/markdown")
    assert GOOD_STORY["title"] in md.text
    js = client.get(f"{url}/gw-done/report?format=json", headers=stack.headers("viewer")).json()
    assert js["kind"] == "report" and any(t["type"] == "story.done" for t in js["timeline"])

    delib_id = json.loads(frames[types.index("council.result")].split("data: ", 1)[1])["payload"][
        "id"
    ]
    d = client.get(f"{stack.base_url}/deliberations/{delib_id}", headers=stack.headers("viewer"))
    assert d.status_code == 200 and d.json()["winner"]
    listed = client.get(url, headers=stack.headers("viewer"), params={"state": "DONE"}).json()
    assert "gw-done" in [s["id"] for s in listed["stories"]]


def test_transitions_endpoint_approves_and_rejects_through_gates(stack, client):
    url = f"{stack.base_url}/stories"
    client.post(url, json={**GOOD_STORY, "id": "gw-tr"}, headers=stack.headers())
    wait_for(client, stack, "gw-tr", lambda b: (b["parked"] or {}).get("gate") == "scope")
    r = client.post(f"{url}/gw-tr/transitions", json={"target": "DONE"}, headers=stack.headers())
    assert r.status_code == 409 and "Allowed from DRAFT" in r.json()["message"]
    assert (
        client.post(
            f"{url}/gw-tr/transitions", json={"target": "DESIGN"}, headers=stack.headers()
        ).status_code
        == 202
    )
    wait_for(client, stack, "gw-tr", lambda b: (b["parked"] or {}).get("gate") == "design")
    assert (
        client.post(
            f"{url}/gw-tr/transitions", json={"target": "reject_design"}, headers=stack.headers()
        ).status_code
        == 202
    )
    body = wait_for(client, stack, "gw-tr", lambda b: b["state"] == "DRAFT" and b["parked"])
    assert [t["name"] for t in body["transitions"]][-1] == "reject_design"


def test_per_story_models_are_checked_and_recorded(stack, client):
    url = f"{stack.base_url}/stories"
    r = client.post(
        url, json={**GOOD_STORY, "models": {"developer": "gpt-9"}}, headers=stack.headers()
    )
    assert (
        r.status_code == 422
        and r.json()["field"] == "body.models"
        and "unknown model 'gpt-9'" in r.json()["message"]
    )
    r = client.post(
        url, json={**GOOD_STORY, "models": {"tester": "scripted"}}, headers=stack.headers()
    )
    assert r.status_code == 422 and "unknown role 'tester'" in r.json()["message"]
    r = client.post(
        url,
        json={**GOOD_STORY, "id": "gw-models", "models": {"developer": "scripted"}},
        headers=stack.headers(),
    )
    assert r.status_code == 201
    r = client.get(
        f"{url}/gw-models/events", params={"follow": "false"}, headers=stack.headers("viewer")
    )
    created = json.loads(r.text.split("data: ", 1)[1].split("\n", 1)[0])
    assert created["type"] == "story.created" and created["payload"]["models"] == {
        "developer": "scripted"
    }


def _git(*args: str) -> None:
    import subprocess

    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@t", "PATH": "/usr/bin:/bin", "HOME": "/nonexistent"}  # fmt: skip
    subprocess.run(["git", *args], check=True, env=env, capture_output=True)


def _develop_repo(tmp_path) -> str:
    """A repository whose default branch is ``develop``, with a second branch ``release``."""
    repo = tmp_path / "proj"
    _git("init", "-q", "-b", "develop", str(repo))
    (repo / "README.md").write_text("proj\n")
    _git("-C", str(repo), "add", "-A")
    _git("-C", str(repo), "commit", "-q", "-m", "init")
    _git("-C", str(repo), "branch", "release")
    return str(repo)


def _count(client, stack) -> int:
    listed = client.get(f"{stack.base_url}/stories", headers=stack.headers("viewer")).json()
    return len(listed["stories"])


def test_a_bad_repository_or_branch_is_400_with_the_reason_and_nothing_is_created(
    stack, client, tmp_path
):
    url, repo = f"{stack.base_url}/stories", _develop_repo(tmp_path)
    before = _count(client, stack)
    cases = [
        ({"repo": str(tmp_path / "missing")}, "repo", "does not exist"),
        ({"repo": str(tmp_path)}, "repo", "not a readable git repository"),
        ({"repo": repo, "branch": "main"}, "branch", "has no branch 'main'"),
        ({"repo": repo, "branch": "main"}, "branch", "default: develop"),
        ({"repo": "https://127.0.0.1/x.git"}, "repo", "local services are not"),
    ]
    for i, (fields, field, reason) in enumerate(cases):
        r = client.post(url, json={**GOOD_STORY, "id": f"gw-bad-{i}", **fields},
                        headers=stack.headers())  # fmt: skip
        assert r.status_code == 400, r.text
        assert r.json()["field"] == field and reason in r.json()["message"], r.json()
        assert client.get(f"{url}/gw-bad-{i}", headers=stack.headers()).status_code == 404
    assert _count(client, stack) == before
    r = client.post(url, json={**GOOD_STORY, "id": "gw-dev", "repo": repo, "branch": "release"},
                    headers=stack.headers())  # fmt: skip
    assert r.status_code == 201 and r.json()["branch"] == "release"


def test_repos_branches_names_the_default_branch(stack, client, tmp_path):
    repo = _develop_repo(tmp_path)
    url = f"{stack.base_url}/repos/branches"
    r = client.get(url, params={"repo": repo}, headers=stack.headers())
    assert r.status_code == 200, r.text
    assert r.json() == {
        "repo": repo,
        "default_branch": "develop",
        "branches": ["develop", "release"],
    }
    r = client.get(url, params={"repo": str(tmp_path / "nope")}, headers=stack.headers())
    assert r.status_code == 400 and "does not exist" in r.json()["message"]
    # a viewer may not probe the host's repositories
    assert (
        client.get(url, params={"repo": repo}, headers=stack.headers("viewer")).status_code == 403
    )


def test_story_kind_is_given_or_inferred(stack, client):
    url = f"{stack.base_url}/stories"
    bug = {
        "id": "gw-bug",
        "title": "round_price returns 2.67 for 2.675",
        "description": "I called round_price(2.675) and got 2.67, but it should be 2.68.",
        "acceptance_criteria": ["round_price(2.675) returns 2.68"],
    }
    r = client.post(url, json=bug, headers=stack.headers())
    assert r.status_code == 201 and r.json()["work_kind"] == "bug"
    assert r.json()["work_kind_inferred"] is True
    r = client.post(url, json={**GOOD_STORY, "id": "gw-chg", "work_kind": "change"},
                    headers=stack.headers())  # fmt: skip
    assert r.json()["work_kind"] == "change" and r.json()["work_kind_inferred"] is False
    r = client.post(url, json={**GOOD_STORY, "work_kind": "epic"}, headers=stack.headers())
    assert r.status_code == 422 and r.json()["field"] == "body.work_kind"
    score = client.post(f"{url}/score", json=bug, headers=stack.headers("viewer")).json()
    assert score["work_kind"] == "bug" and score["ready"], score
