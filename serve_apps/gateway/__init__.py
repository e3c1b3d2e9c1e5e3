"""The HTTP gateway (Ray Serve + FastAPI): REST and SSE for people and CI."""

from serve_apps.gateway.app import build_app

__all__ = ["build_app"]
