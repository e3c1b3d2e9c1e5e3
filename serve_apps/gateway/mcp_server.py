"""The fleet as an MCP server (the official ``mcp`` SDK): stories, gates, reports and diffs.

Every tool is a call to the gateway's own REST API with the caller's bearer token, so the
gateway's auth decides what each caller may do, exactly as for curl or the web UI:

- mounted by the gateway at ``/mcp`` (streamable HTTP, stateless, JSON responses): the calls
  go in-process to the same FastAPI app with the ``Authorization`` header the client sent;
- ``fleet mcp`` (stdio, for local clients): the calls go over HTTP to a running gateway with
  the PO token from the ``po_token`` setting (:mod:`fleet.settings`) or the tokens file.
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import json
import typing
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import Response
from httpx_sse import EventSource
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ToolError
from mcp.server.transport_security import TransportSecuritySettings

# Opens an HTTP client to the gateway for one call; gets the MCP request context (or None).
Connect = Callable[[Any], AbstractAsyncContextManager[httpx.AsyncClient]]

INSTRUCTIONS = (
    "SWE AI Fleet: a team of agents that takes a user story to a tested change. Create a story "
    "(title, description 'As a ... I want ... so that ...' for a feature, or for a bug report "
    "what you did, what you expected, what happened and an example; checkable acceptance "
    "criteria; the target repository, checked at once: repo_branches shows its default branch), "
    "then follow it with show_story: it parks at the scope, design and "
    "acceptance gates until the Product Owner approves (approve_gate) or rejects (reject_gate). "
    "When it is DONE, get_report and get_diff tell what was decided and changed."
)


def winning_changes(events: list[dict[str, Any]]) -> str:
    """The councils' winning changes as text: each winner's unified diff, or its content."""
    out = []
    for ev in events:
        if ev.get("type") != "council.result":
            continue
        d = ev.get("payload") or {}
        win = next((p for p in d.get("proposals", []) if p.get("id") == d.get("winner")), None)
        if win is None:
            continue
        patch = win.get("patch") or {}
        head = f"# task {d.get('task_id')}: winner {win.get('id')} by {win.get('author')}"
        out.append(f"{head}\n{patch.get('diff') or win.get('content', '')}".rstrip())
    return "\n\n".join(out)


class Gateway:
    """The REST calls the tools make; errors become messages the model can read."""

    def __init__(self, connect: Connect) -> None:
        self.connect = connect

    async def _request(self, ctx: Any, method: str, path: str, **kw: Any) -> httpx.Response:
        async with self.connect(ctx) as client:
            r = await client.request(method, path, **kw)
        if r.status_code >= 400:
            try:
                msg = r.json().get("message", r.text)
            except ValueError:
                msg = r.text
            raise ToolError(f"the gateway answered {r.status_code}: {msg}")
        return r

    async def call(self, ctx: Any, method: str, path: str, **kw: Any) -> Any:
        r = await self._request(ctx, method, path, **kw)
        return r.json() if "json" in r.headers.get("content-type", "") else r.text

    async def events(self, ctx: Any, story_id: str) -> list[dict[str, Any]]:
        """The story's events so far: its finished (``follow=false``) Server-Sent Events body."""
        r = await self._request(
            ctx, "GET", f"/stories/{story_id}/events", params={"follow": "false"}
        )
        # the retry hint and keep-alives are events without data
        return [json.loads(sse.data) async for sse in EventSource(r).aiter_sse() if sse.data]


def build_mcp(connect: Connect) -> MCPServer:
    """The MCP server: tools and resources over the gateway reached through ``connect``."""
    gw = Gateway(connect)
    mcp = MCPServer("swe-ai-fleet", instructions=INSTRUCTIONS, version="0.1.0")
    _story_tools(mcp, gw)
    _gate_tools(mcp, gw)
    _resources(mcp, gw)
    return mcp


@dataclass(frozen=True, kw_only=True)
class NewStory:
    """The arguments of the ``create_story`` tool (its MCP input schema, flat)."""

    title: str
    description: str = ""
    acceptance_criteria: list[str] | None = None
    repo: str | None = None
    rigor: str = "L1"
    branch: str | None = None
    work_kind: str | None = None


def flat_tool(run: Callable[[Any, Any], Awaitable[Any]], options: type[Any]) -> Callable[..., Any]:
    """``run(ctx, options(**arguments))`` as a tool function whose parameters are the fields of
    the dataclass ``options`` and ``ctx``: the SDK reads a tool's input schema from its
    signature, so clients see the fields as the tool's own (flat) arguments."""

    async def tool(ctx: Any = None, **arguments: Any) -> Any:
        return await run(ctx, options(**arguments))

    hints = typing.get_type_hints(options)
    keyword = inspect.Parameter.KEYWORD_ONLY
    params = [
        inspect.Parameter(f.name, keyword, annotation=hints[f.name], default=f.default)
        if f.default is not dataclasses.MISSING
        else inspect.Parameter(f.name, keyword, annotation=hints[f.name])
        for f in dataclasses.fields(options)
    ]
    params.append(inspect.Parameter("ctx", keyword, annotation=Context, default=None))
    returns = typing.get_type_hints(run).get("return", Any)
    tool.__signature__ = inspect.Signature(params, return_annotation=returns)  # type: ignore[attr-defined]
    tool.__annotations__ = {**hints, "ctx": Context, "return": returns}
    tool.__name__, tool.__doc__ = run.__name__, run.__doc__
    return tool


def _story_tools(mcp: MCPServer, gw: Gateway) -> None:
    async def create_story(ctx: Any, story: NewStory) -> dict[str, Any]:
        """Create a story; the coach scores it (DoR) and the fleet starts on it.

        ``branch``: the base branch (omitted: the repository's default branch); ``work_kind``:
        feature, bug or change (omitted: inferred from the text). A repository git cannot read
        or a branch it does not have is refused with the reason, and nothing is created."""
        body = {**dataclasses.asdict(story), "acceptance_criteria": story.acceptance_criteria or []}
        answer: dict[str, Any] = await gw.call(ctx, "POST", "/stories", json=body)
        return answer

    mcp.add_tool(flat_tool(create_story, NewStory))

    @mcp.tool()
    async def repo_branches(repo: str, ctx: Context = None) -> dict[str, Any]:  # type: ignore[assignment]
        """A repository's default branch and branches (git URL or local path), as a story's
        submission checks them; needs a po token."""
        return await gw.call(ctx, "GET", "/repos/branches", params={"repo": repo})

    @mcp.tool()
    async def score_story(
        title: str,
        description: str = "",
        acceptance_criteria: list[str] | None = None,
        work_kind: str | None = None,
        ctx: Context = None,  # type: ignore[assignment]
    ) -> dict[str, Any]:
        """Score a draft story (Definition of Ready, INVEST, suggestions) without creating it;
        a bug report is scored as one (``work_kind`` omitted: inferred from the text)."""
        body = {
            "title": title,
            "description": description,
            "acceptance_criteria": acceptance_criteria or [],
            "work_kind": work_kind,
        }
        return await gw.call(ctx, "POST", "/stories/score", json=body)

    @mcp.tool()
    async def list_stories(
        state: str | None = None,
        ctx: Context = None,  # type: ignore[assignment]
    ) -> dict[str, Any]:
        """List stories (optionally those in one state: DRAFT, DESIGN, BUILD, TEST, DOCS, DONE)."""
        params = {"state": state} if state else {}
        return await gw.call(ctx, "GET", "/stories", params=params)

    @mcp.tool()
    async def show_story(story_id: str, ctx: Context = None) -> dict[str, Any]:  # type: ignore[assignment]
        """A story's state, the gate it waits at (parked), its score, plan and transitions."""
        return await gw.call(ctx, "GET", f"/stories/{story_id}")


def _gate_tools(mcp: MCPServer, gw: Gateway) -> None:
    async def answer(ctx: Any, story_id: str, gate: str | None, ok: bool, comment: str) -> Any:
        body = {"gate": gate, "approved": ok, "comment": comment}
        return await gw.call(ctx, "POST", f"/stories/{story_id}/approvals", json=body)

    @mcp.tool()
    async def approve_gate(
        story_id: str,
        gate: str | None = None,
        comment: str = "",
        ctx: Context = None,  # type: ignore[assignment]
    ) -> dict[str, Any]:
        """Approve the gate the story waits at (scope, design, acceptance); needs a po token."""
        return await answer(ctx, story_id, gate, True, comment)

    @mcp.tool()
    async def reject_gate(
        story_id: str,
        gate: str | None = None,
        comment: str = "",
        ctx: Context = None,  # type: ignore[assignment]
    ) -> dict[str, Any]:
        """Reject the gate the story waits at, saying why in the comment; needs a po token."""
        return await answer(ctx, story_id, gate, False, comment)

    @mcp.tool()
    async def get_report(story_id: str, ctx: Context = None) -> str:  # type: ignore[assignment]
        """The story's technical report (Markdown): timeline, plan, councils, gates, approvals."""
        return await gw.call(ctx, "GET", f"/stories/{story_id}/report")

    @mcp.tool()
    async def get_diff(story_id: str, ctx: Context = None) -> str:  # type: ignore[assignment]
        """The story's change: the delivered (or last committed) unified diff; before any commit,
        what the councils chose for each task."""
        try:
            return await gw.call(ctx, "GET", f"/stories/{story_id}/diff")
        except ToolError as exc:
            if "answered 404" not in str(exc):
                raise
        text = winning_changes(await gw.events(ctx, story_id))
        return text or f"story {story_id}: nothing committed and no council has decided yet"


def _resources(mcp: MCPServer, gw: Gateway) -> None:
    @mcp.resource("fleet://stories/{story_id}/report", mime_type="text/markdown")
    async def report_resource(story_id: str, ctx: Context) -> str:
        """The story's technical report (Markdown)."""
        try:
            return await gw.call(ctx, "GET", f"/stories/{story_id}/report")
        except ToolError as exc:
            raise ResourceError(str(exc)) from None

    @mcp.resource("fleet://stories/{story_id}/events", mime_type="application/json")
    async def events_resource(story_id: str, ctx: Context) -> str:
        """Every event of the story so far (JSON list, oldest first)."""
        try:
            return json.dumps(await gw.events(ctx, story_id))
        except ToolError as exc:
            raise ResourceError(str(exc)) from None


def in_process(app: FastAPI) -> Connect:
    """Calls into ``app`` itself, with the MCP request's own Authorization header."""

    @asynccontextmanager
    async def connect(ctx: Any) -> AsyncIterator[httpx.AsyncClient]:
        request = getattr(getattr(ctx, "request_context", None), "request", None)
        token = request.headers.get("authorization", "") if request is not None else ""
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport,
            base_url="http://gateway",
            headers={"Authorization": token},
            timeout=60.0,
        ) as client:
            yield client

    return connect


def over_http(base_url: str, token: str) -> Connect:
    """Calls to a running gateway over HTTP with one token (``fleet mcp`` on stdio)."""

    @asynccontextmanager
    async def connect(ctx: Any) -> AsyncIterator[httpx.AsyncClient]:
        async with httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {token}"},
            timeout=60.0,
        ) as client:
            yield client

    return connect


class _Passthrough(Response):
    """Hands the raw request to the MCP transport once the route's auth dependency passed."""

    def __init__(self, run: Callable[..., Any]) -> None:
        super().__init__()
        self.run = run

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.run(scope, receive, send)


def install_mcp(app: FastAPI) -> None:
    """Mount the MCP server at ``/mcp`` behind the gateway's auth (any valid token)."""
    state: dict[str, Any] = {}
    lock = asyncio.Lock()

    async def running() -> Any:
        # Built on first use, in the serving process: the server holds keys that do not pickle
        # (the app travels to Serve replicas by pickle), and its transport needs a task group
        # alive for the replica's whole life (Serve replicas and test clients differ on
        # lifespan events).
        async with lock:
            if "manager" not in state:
                server = build_mcp(in_process(app))
                # The bearer token guards the endpoint, which a DNS-rebinding page cannot present.
                server.streamable_http_app(
                    stateless_http=True,
                    json_response=True,
                    transport_security=TransportSecuritySettings(
                        enable_dns_rebinding_protection=False
                    ),
                )
                manager, ready = server.session_manager, asyncio.Event()

                async def hold() -> None:
                    async with manager.run():
                        ready.set()
                        await asyncio.Event().wait()

                state["task"] = asyncio.get_running_loop().create_task(hold())
                await ready.wait()
                state["manager"] = manager
            return state["manager"]

    viewer = app.state.need("viewer")

    @app.api_route("/mcp", methods=["GET", "POST", "DELETE"], tags=["mcp"])
    async def mcp_endpoint(request: Request, principal: Any = viewer) -> Response:
        """MCP over streamable HTTP (stateless, JSON); the tools act with this request's token."""
        manager = await running()
        return _Passthrough(manager.handle_request)
