"""API docs that work offline: Swagger UI and ReDoc from assets shipped by ``fastapi-offline``.

FastAPI's own ``/docs`` and ``/redoc`` load their scripts from a CDN (a blank page without
internet); these replace them with the same pages served from the gateway itself.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

ASSETS_URL = "/docs-assets"
# The pages may use only the gateway. Inline script/style: Swagger UI's boot script and ReDoc's styled components need them.
CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; worker-src 'self' blob:; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)
DOC_PATHS = ("/docs", "/docs/oauth2-redirect", "/redoc")
# ReDoc's sidebar shows its vendor's logo from a CDN, hard-coded in the bundle (no option turns
# it off): the gateway serves the bundle with that address replaced by an inline image.
REDOC_JS = "redoc.local.js"
REDOC_CDN_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"
LOCAL_LOGO = (
    "data:image/svg+xml;utf8,<svg xmlns='http://www.w3.org/2000/svg' width='16' height='16'>"
    "<rect width='16' height='16' rx='3' fill='%2394a3b8'/></svg>"
)
_cache: dict[str, bytes] = {}


def redoc_bundle() -> bytes:
    """ReDoc's standalone bundle with the CDN logo replaced (read once per process)."""
    if "redoc" not in _cache:
        raw = (assets_dir() / "redoc.standalone.js").read_text(encoding="utf-8")
        _cache["redoc"] = raw.replace(REDOC_CDN_LOGO, LOCAL_LOGO).encode()
    return _cache["redoc"]


def assets_dir() -> Path:
    import fastapi_offline

    return Path(fastapi_offline.__file__).parent / "static"


def install_offline_docs(app: FastAPI) -> None:
    """Swap the CDN-backed doc pages of ``app`` for ones whose assets the gateway serves."""
    app.router.routes[:] = [
        r for r in app.router.routes if getattr(r, "path", None) not in DOC_PATHS
    ]

    # before the mount: a route listed first answers first
    @app.get(f"{ASSETS_URL}/{REDOC_JS}", include_in_schema=False)
    def redoc_js() -> Response:
        return Response(redoc_bundle(), media_type="text/javascript")

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> Response:
        # browsers ask every site for it; a PNG under that name is fine for all of them
        return Response((assets_dir() / "favicon.png").read_bytes(), media_type="image/png")

    app.mount(ASSETS_URL, StaticFiles(directory=assets_dir()), name="docs-assets")
    openapi_url = app.openapi_url or "/openapi.json"

    @app.get("/docs", include_in_schema=False)
    def swagger(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "").rstrip("/")
        return _locked(
            get_swagger_ui_html(
                openapi_url=f"{root}{openapi_url}",
                title=f"{app.title} - Swagger UI",
                swagger_js_url=f"{root}{ASSETS_URL}/swagger-ui-bundle.js",
                swagger_css_url=f"{root}{ASSETS_URL}/swagger-ui.css",
                swagger_favicon_url=f"{root}{ASSETS_URL}/favicon.png",
                swagger_ui_parameters=app.swagger_ui_parameters,
            )
        )

    @app.get("/redoc", include_in_schema=False)
    def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "").rstrip("/")
        return _locked(
            get_redoc_html(
                openapi_url=f"{root}{openapi_url}",
                title=f"{app.title} - ReDoc",
                redoc_js_url=f"{root}{ASSETS_URL}/{REDOC_JS}",
                redoc_favicon_url=f"{root}{ASSETS_URL}/favicon.png",
                with_google_fonts=False,
            )
        )


def _locked(page: HTMLResponse) -> HTMLResponse:
    page.headers["Content-Security-Policy"] = CSP
    page.headers["X-Content-Type-Options"] = "nosniff"
    return page
