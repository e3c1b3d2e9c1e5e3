"""The FastAPI app: routes, bearer-token roles, the JSON error model, body limits, SSE."""

from __future__ import annotations

import hmac
import json
from collections.abc import Callable, Iterator
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from fleet.context.redact import redact
from fleet.errors import (
    FleetError,
    InfraError,
    InvalidInput,
    InvalidTransition,
    NotFound,
    UserError,
)
from fleet.orchestrator.commands import Conflict
from serve_apps.gateway.protocol import (
    STORY_ID,
    Accepted,
    ApprovalIn,
    DiffOut,
    ErrorOut,
    Health,
    StoryIn,
    StoryList,
    StoryOut,
    TransitionIn,
)
from serve_apps.gateway.service import HEARTBEAT, GatewayService, check_models
from serve_apps.gateway.tokens import ROLES, Principal, TokenStore

# ROLES rank viewer < po < admin: a po token may do whatever a viewer token may, and so on.
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut} for code in (400, 401, 403, 404, 409, 413, 422, 503)
}
StoryId = Annotated[str, Path(pattern=STORY_ID, description="story id")]


class ApiError(Exception):
    def __init__(self, status: int, error: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status, self.error, self.message, self.field = status, error, message, field


def _error(status: int, error: str, message: str, field: str | None = None) -> JSONResponse:
    body = ErrorOut(error=error, message=message, field=field).model_dump()
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, headers=headers)


def _status_of(exc: FleetError) -> tuple[int, str]:
    if isinstance(exc, NotFound):
        return 404, "not_found"
    if isinstance(exc, Conflict | InvalidTransition):
        return 409, "conflict"
    if isinstance(exc, UserError):
        return 400, "bad_request"
    if isinstance(exc, InfraError):
        return 503, "unavailable"
    return 409, "not_now"  # control signals: try again later


def install_errors(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api(_: Request, exc: ApiError) -> JSONResponse:
        return _error(exc.status, exc.error, exc.message, exc.field)

    @app.exception_handler(FleetError)
    async def _fleet(_: Request, exc: FleetError) -> JSONResponse:
        status, code = _status_of(exc)
        field = exc.fields.get("field") if isinstance(exc, InvalidInput) else None
        # redacted: infra errors name their target, and a Redis URL may carry a password
        return _error(
            status,
            code,
            redact(str(exc).splitlines()[0])[0] if str(exc) else type(exc).__name__,
            field if isinstance(field, str) else None,
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first.get("loc", ()))
        return _error(422, "invalid_request", f"{field}: {first.get('msg')}", field)


def role_of(tokens: dict[str, str], presented: str) -> str | None:
    """The role of ``presented``, compared in constant time against every known token."""
    found = None
    for token, role in tokens.items():
        if hmac.compare_digest(token.encode(), presented.encode()):
            found = role
    return found


def as_store(tokens: dict[str, str] | TokenStore) -> TokenStore:
    """A :class:`TokenStore` from a store or a legacy ``token -> role`` map."""
    if isinstance(tokens, TokenStore):
        return tokens
    return TokenStore.from_tokens({"name": r, "role": r, "token": t} for t, r in tokens.items())


def auth(tokens: dict[str, str] | TokenStore) -> Callable[[str], Any]:
    """A dependency factory: ``Depends(need("po"))`` admits principals whose role ranks at least
    po, and hands the route the :class:`Principal`."""
    bearer = HTTPBearer(auto_error=False)
    store = as_store(tokens)

    def need(role: str) -> Any:
        def check(cred: HTTPAuthorizationCredentials | None = Depends(bearer)) -> Principal:  # noqa: B008
            if cred is None or cred.scheme.lower() != "bearer":
                raise ApiError(
                    401,
                    "unauthorized",
                    "missing bearer token: send 'Authorization: Bearer <token>'",
                )
            who = store.principal(cred.credentials)
            if who is None:
                raise ApiError(401, "unauthorized", "unknown token")
            if ROLES.index(who.role) < ROLES.index(role):
                raise ApiError(
                    403,
                    "forbidden",
                    f"this action needs the {role} role; your token has {who.role}",
                )
            return who

        return Depends(check)

    return need


def require_owner(svc: GatewayService, story_id: str, who: Principal) -> None:
    """403 unless ``who`` may steer ``story_id`` (its PO, a shared story, or an admin)."""
    owner, shared = svc.owner(story_id)
    if not who.may_act_on(owner, shared=shared):
        raise ApiError(
            403,
            "forbidden",
            f"story {story_id} belongs to another PO; only its PO or an admin may act on it",
        )


def _sse(events: Iterator[Any]) -> Iterator[str]:
    yield "retry: 2000\n\n"
    for item in events:
        if item is HEARTBEAT:
            yield ": keep-alive\n\n"
            continue
        entry, event = item
        yield f"id: {entry}\nevent: {event.type}\ndata: {event.model_dump_json()}\n\n"


def create_app(
    service: Callable[[], GatewayService],
    tokens: dict[str, str] | TokenStore,
    *,
    max_body_bytes: int = 1_000_000,
) -> FastAPI:
    """The gateway app; ``service()`` returns the (lazily built) :class:`GatewayService`."""
    app = FastAPI(
        title="SWE AI Fleet gateway",
        version="0.1.0",
        responses=ERRORS,
        description="Stories in, done stories out: REST + Server-Sent Events.",
    )
    install_errors(app)
    need = auth(tokens)
    app.state.need = need  # the one auth dependency, for routes added outside this module
    viewer, po = need("viewer"), need("po")

    @app.middleware("http")
    async def limit_body(request: Request, call_next: Any) -> Any:
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > max_body_bytes):
            return _error(413, "too_large", f"request body over {max_body_bytes} bytes")
        if request.headers.get("transfer-encoding", "").lower() == "chunked":
            return _error(
                411, "length_required", "send a Content-Length; chunked bodies are refused"
            )
        return await call_next(request)

    @app.get("/healthz", response_model=Health, tags=["ops"])
    def healthz() -> Health:
        svc = service()
        redis_ok = bool(getattr(svc.log, "ping", lambda: True)())
        orch_ok = svc.orchestrator.healthy()
        return Health(
            status="ok" if redis_ok and orch_ok else "degraded",
            redis=redis_ok,
            orchestrator=orch_ok,
        )

    @app.post("/stories", response_model=StoryOut, status_code=201, tags=["stories"])
    def create_story(body: StoryIn, who: Principal = po) -> StoryOut:
        try:
            check_models(body.models)
        except UserError as exc:
            raise ApiError(422, "invalid_request", f"body.models: {exc}", "body.models") from None
        return service().submit(body, po=who.name)  # the story belongs to its creator

    @app.get("/stories", response_model=StoryList, tags=["stories"])
    def list_stories(
        who: Principal = viewer,
        state: Annotated[str | None, Query(max_length=20)] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> StoryList:
        return StoryList(stories=service().list(state=state, limit=limit))

    @app.get("/stories/{story_id}", response_model=StoryOut, tags=["stories"])
    def get_story(story_id: StoryId, who: Principal = viewer) -> StoryOut:
        return service().get(story_id)

    @app.post(
        "/stories/{story_id}/transitions", response_model=Accepted, status_code=202, tags=["po"]
    )
    def transition(story_id: StoryId, body: TransitionIn, who: Principal = po) -> Accepted:
        require_owner(service(), story_id, who)
        return service().transition(story_id, target=body.target, by=who.name, comment=body.comment)

    @app.post(
        "/stories/{story_id}/approvals", response_model=Accepted, status_code=202, tags=["po"]
    )
    def approve(story_id: StoryId, body: ApprovalIn, who: Principal = po) -> Accepted:
        require_owner(service(), story_id, who)
        return service().approve(
            story_id, gate=body.gate, approved=body.approved, by=who.name, comment=body.comment
        )

    @app.get(
        "/stories/{story_id}/events",
        tags=["stories"],
        responses={200: {"content": {"text/event-stream": {}}}},
    )
    def events(
        story_id: StoryId,
        who: Principal = viewer,
        after: Annotated[str | None, Query(pattern=r"^\d+(-\d+)?$")] = None,
        follow: bool = True,
        last_event_id: Annotated[str | None, Header(pattern=r"^\d+(-\d+)?$")] = None,
    ) -> StreamingResponse:
        """Server-Sent Events; resume with ``Last-Event-ID`` (or ``?after=``)."""
        stream = service().follow(story_id, after=last_event_id or after or "0", follow=follow)
        first = next(stream, None)  # raises NotFound before the 200 goes out
        head = iter(()) if first is None else iter((first,))
        return StreamingResponse(
            _sse(_chain(head, stream)),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    @app.get(
        "/stories/{story_id}/report",
        tags=["stories"],
        responses={200: {"content": {"text/markdown": {}, "application/json": {}}}},
    )
    def report(
        story_id: StoryId,
        who: Principal = viewer,
        format: Annotated[str | None, Query(pattern="^(md|markdown|json)$")] = None,
        accept: Annotated[str | None, Header()] = None,
    ) -> Any:
        """The technical report: Markdown by default, JSON with ``?format=json`` or ``Accept``."""
        want_json = format == "json" or (format is None and "application/json" in (accept or ""))
        if want_json:
            return JSONResponse(json.loads(service().report(story_id).model_dump_json()))
        return PlainTextResponse(service().report_markdown(story_id), media_type="text/markdown")

    @app.get(
        "/stories/{story_id}/diff",
        tags=["stories"],
        response_model=DiffOut,
        responses={200: {"content": {"text/x-diff": {}, "application/json": {}}}},
    )
    def diff(
        story_id: StoryId,
        role: str = viewer,
        format: Annotated[str | None, Query(pattern="^(diff|json)$")] = None,
    ) -> Any:
        """The story's change: the unified diff (``?format=json``: with its branch and commit).

        404 until a change is committed; after DONE it is the delivered change."""
        out = service().diff(story_id)
        if format == "json":
            return out
        return PlainTextResponse(out.diff, media_type="text/x-diff")

    @app.get("/deliberations/{deliberation_id}", tags=["stories"])
    def deliberation(
        deliberation_id: Annotated[str, Path(pattern=r"^[A-Za-z0-9_.-]{1,200}$")],
        who: Principal = viewer,
    ) -> Any:
        return JSONResponse(json.loads(service().deliberation(deliberation_id).model_dump_json()))

    return app


def _chain(*its: Iterator[Any]) -> Iterator[Any]:
    for it in its:
        yield from it
