"""The PO web UI at ``/ui``: the static build of ``serve_apps/gateway/ui`` (``make install``).

Same origin as the API, so the UI calls it with the PO's bearer token and nothing else; a
strict Content-Security-Policy keeps the page to the gateway's own scripts, styles and API.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.responses import PlainTextResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

DIST = Path(__file__).parent / "ui" / "dist"
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


class UiFiles(StaticFiles):
    """Static files with the UI's security headers; the HTML page is never cached."""

    async def get_response(self, path: str, scope: Any) -> Any:
        response = await super().get_response(path, scope)
        response.headers.update(HEADERS)
        immutable = path.startswith("assets/")
        response.headers["Cache-Control"] = (
            "public, max-age=31536000, immutable" if immutable else "no-cache"
        )
        return response


def signin_hint_body() -> dict[str, str]:
    """Where the tokens are: the file ``fleet up`` writes and the variables that set them."""
    from fleet.settings import env_name

    return {
        "tokens_file": "<data_dir>/tokens.json",
        "data_dir": "data_dir in config/fleet.yaml",
        "po_variable": env_name("po_token"),
        "viewer_variable": env_name("viewer_token"),
    }


def install_ui(app: FastAPI, dist: Path = DIST) -> None:
    """Serve the built UI at ``/ui/`` (a clear 503 when it was not built)."""

    @app.get("/ui", include_in_schema=False)
    def ui_slash() -> Any:
        # relative, so it works under any route prefix: /<prefix>/ui -> /<prefix>/ui/
        return RedirectResponse("ui/", status_code=307)

    @app.get("/ui/signin-hint.json", include_in_schema=False)
    def signin_hint() -> dict[str, str]:
        # before signing in: where a PO finds a token (names only, no path of this machine)
        return signin_hint_body()

    if (dist / "index.html").is_file():
        app.mount("/ui", UiFiles(directory=dist, html=True), name="ui")
        return

    @app.get("/ui/{rest:path}", include_in_schema=False)
    def not_built(rest: str) -> PlainTextResponse:
        return PlainTextResponse(
            "the web UI is not built: run `make install` (npm ci && npm run build in "
            "serve_apps/gateway/ui)",
            status_code=503,
        )
