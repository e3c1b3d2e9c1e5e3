"""The fleet's MCP server, driven by the ``mcp`` SDK's own client over streamable HTTP against
the running gateway (every real part, scripted models): a session creates a story, approves
its gates, reads its report, its diff and its events; a viewer token can read but not act."""

from __future__ import annotations

import asyncio
import json
import time
from contextlib import asynccontextmanager

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from fleet.orchestrator.sample import SAMPLE_STORY

GATES = ("scope", "design", "acceptance")


@asynccontextmanager
async def _client(stack, role: str):
    async with (
        httpx2.AsyncClient(headers=stack.headers(role), timeout=60.0) as http,
        Client(streamable_http_client(f"{stack.base_url}/mcp", http_client=http)) as client,
    ):
        yield client


def _data(result):
    assert not result.is_error, result.content
    if result.structured_content is not None:
        return result.structured_content
    return json.loads(result.content[0].text)


def _text(result) -> str:
    assert not result.is_error, result.content
    return result.content[0].text


async def _drive(client, story_id: str, timeout: float = 300.0) -> tuple[list[str], dict]:
    answered: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        story = _data(await client.call_tool("show_story", {"story_id": story_id}))
        if story["outcome"]:
            return answered, story
        gate = (story.get("parked") or {}).get("gate")
        if gate:
            assert gate in GATES, story["parked"]
            result = await client.call_tool(
                "approve_gate", {"story_id": story_id, "gate": gate, "comment": f"mcp ok {gate}"}
            )
            assert _data(result)["type"] == "story.approved"
            answered.append(gate)
        await asyncio.sleep(0.5)
    raise AssertionError(f"{story_id} did not finish in {timeout}s")


def test_an_mcp_session_creates_a_story_approves_its_gates_and_reads_its_report(
    real_stack, sample_git
):
    async def session():
        async with _client(real_stack, "po") as client:
            tools = {t.name for t in (await client.list_tools()).tools}
            assert {
                "create_story",
                "list_stories",
                "show_story",
                "approve_gate",
                "reject_gate",
                "get_report",
                "get_diff",
            } <= tools
            created = _data(
                await client.call_tool(
                    "create_story",
                    {
                        "title": SAMPLE_STORY["title"],
                        "description": SAMPLE_STORY["description"],
                        "acceptance_criteria": SAMPLE_STORY["acceptance_criteria"],
                        "repo": sample_git,
                    },
                )
            )
            story_id = created["id"]
            listed = _data(await client.call_tool("list_stories", {}))
            assert story_id in {s["id"] for s in listed["stories"]}
            answered, final = await _drive(client, story_id)
            assert answered == list(GATES)
            assert final["outcome"] == "done" and final["state"] == "DONE"
            report = _text(await client.call_tool("get_report", {"story_id": story_id}))
            assert SAMPLE_STORY["title"] in report and "mcp ok acceptance" in report
            diff = _text(await client.call_tool("get_diff", {"story_id": story_id}))
            assert "+def divide(" in diff and "calc/ops.py" in diff
            res = await client.read_resource(f"fleet://stories/{story_id}/report")
            assert SAMPLE_STORY["title"] in res.contents[0].text
            res = await client.read_resource(f"fleet://stories/{story_id}/events")
            types = [e["type"] for e in json.loads(res.contents[0].text)]
            assert types[0] == "story.created" and types[-1] == "story.done"
            assert types.count("story.approved") == 3

    asyncio.run(session())


def test_a_viewer_session_reads_but_cannot_act(real_stack):
    async def session():
        async with _client(real_stack, "viewer") as client:
            listed = _data(await client.call_tool("list_stories", {}))
            assert isinstance(listed["stories"], list)
            result = await client.call_tool("create_story", {"title": "not allowed"})
            assert result.is_error and "403" in result.content[0].text

    asyncio.run(session())


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer not-a-token"}])
def test_the_mcp_endpoint_refuses_requests_without_a_valid_token(real_stack, headers):
    import httpx

    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    r = httpx.post(f"{real_stack.base_url}/mcp", json=body, headers=headers, timeout=30)
    assert r.status_code == 401 and r.json()["error"] == "unauthorized"


def test_fleet_mcp_on_stdio_serves_the_same_tools_over_the_gateway(real_stack, sample_git):
    import os
    import sys
    from pathlib import Path

    from mcp import StdioServerParameters

    fleet = Path(sys.executable).parent / "fleet"
    params = StdioServerParameters(
        command=str(fleet),
        args=["mcp", "--url", real_stack.base_url],
        env={**os.environ, "FLEET_PO_TOKEN": real_stack.tokens["po"]},
    )

    async def session():
        async with Client(params) as client:
            body = {**SAMPLE_STORY, "repo": sample_git}
            created = _data(await client.call_tool("create_story", body))
            shown = _data(await client.call_tool("show_story", {"story_id": created["id"]}))
            assert shown["title"] == SAMPLE_STORY["title"]
            missing = await client.call_tool("show_story", {"story_id": "no-such-story"})
            assert missing.is_error and "404" in missing.content[0].text

    asyncio.run(session())


def test_mcp_checks_the_repository_at_creation_and_takes_the_story_kind(real_stack, sample_git):
    async def session():
        async with _client(real_stack, "po") as client:
            branches = _data(await client.call_tool("repo_branches", {"repo": sample_git}))
            assert branches["default_branch"] == "main" and "main" in branches["branches"]
            body = {"title": SAMPLE_STORY["title"], "repo": sample_git, "branch": "nope"}
            refused = await client.call_tool("create_story", body)
            assert refused.is_error and "400" in refused.content[0].text
            assert "has no branch 'nope'" in refused.content[0].text
            refused = await client.call_tool(
                "create_story", {**body, "repo": f"{sample_git}-missing", "branch": None}
            )
            assert refused.is_error and "does not exist" in refused.content[0].text
            listed = _data(await client.call_tool("list_stories", {}))
            assert SAMPLE_STORY["title"] not in {s["title"] for s in listed["stories"]} or all(
                s["branch"] != "nope" for s in listed["stories"]
            )
            created = _data(
                await client.call_tool(
                    "create_story", {**body, "branch": None, "work_kind": "change"}
                )
            )
            assert created["work_kind"] == "change" and not created["work_kind_inferred"]
            assert created["branch"] is None  # the default branch, cloned from HEAD

    asyncio.run(session())
