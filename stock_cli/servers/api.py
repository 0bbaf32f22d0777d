"""`stock serve`: the HTTP API over the same services as the CLI.

Every answer is the document `stock … --json` prints for the same question (built by
`stock_cli.documents` and `output.to_jsonable`), so a script can move from the CLI to the
API without re-learning a shape. Errors are RFC 9457 problem documents from one handler:
our typed errors keep their stable `type` and get the status that fits (404 not found,
422 bad input, 503 database unavailable); anything else is a 500 without a traceback.

Around the FastAPI application, as plain ASGI (outermost first): CORS, the body limit,
the rate limit, the bearer token. The routes are synchronous: FastAPI runs them in its
thread pool, each with its own database session (`db.calls`).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from stock_cli import __version__
from stock_cli.errors import (
    ConfigError,
    DatabaseError,
    LLMError,
    NotFoundError,
    ProviderError,
    StockError,
    UsageError,
)
from stock_cli.output import dumps
from stock_cli.servers.problems import UNEXPECTED, problem_body, send_problem

if TYPE_CHECKING:
    from stock_cli.health.server import HealthChecks

log = logging.getLogger(__name__)

PROBES = ("/", "/healthz", "/readyz", "/api/v1/health")
OPEN_PATHS = (*PROBES, "/docs", "/docs/oauth2-redirect", "/openapi.json")
# The API's names for inputs the services name in their errors (the others keep theirs).
PARAMETER_NAMES = {"last": "limit"}


class JSONDocument(Response):
    """Our JSON, byte for byte what `--json` prints (dates ISO, NaN as null)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return dumps(content).encode()


class Problem(BaseModel):
    """An error (RFC 9457): `type` is the stable error name, `detail` says what happened."""

    type: str
    title: str
    status: int
    detail: str
    hint: str | None = None


class ScreenRequest(BaseModel):
    expression: str = Field(
        min_length=1, examples=["rsi_14 < 30 and close > sma_200"], description="Condition"
    )
    symbols: list[str] | None = Field(default=None, description="Default: every stored symbol")
    watchlist: str | None = Field(default=None, description="Screen this watchlist instead")
    adjust: str = Field(default="adjusted", description="none or adjusted")


class WatchRequest(BaseModel):
    symbols: list[str] = Field(min_length=1, examples=[["AAPL", "600519.SS"]])


class ChatRequest(BaseModel):
    message: str = Field(min_length=1, examples=["how did my watchlist do this week?"])
    session_id: int | None = Field(default=None, description="Continue this conversation")
    platform: str | None = Field(default=None, description="LLM platform (default: the default)")


STATUS_OF: tuple[tuple[type[StockError], int], ...] = (
    (NotFoundError, 404),
    (UsageError, 422),
    (DatabaseError, 503),
    (LLMError, 502),
    (ProviderError, 502),
    (ConfigError, 500),
)


def status_of(error: StockError) -> int:
    return next((status for kind, status in STATUS_OF if isinstance(error, kind)), 400)


def problem(status: int, kind: str, detail: str, hint: str | None = None) -> Response:
    return Response(
        problem_body(status, kind, detail, hint),
        status_code=status,
        media_type="application/problem+json",
        headers={"Retry-After": "5"} if status == 503 else None,
    )


def create_app(*, checks: HealthChecks, allow_fetch: bool = False) -> FastAPI:
    """The FastAPI application (without the ASGI wrappers of `wrap`)."""
    from stock_cli.servers import api_routes

    app = FastAPI(
        title="stock-cli",
        version=__version__,
        summary="Your stored daily prices, analyses, screens, watchlists and chat over HTTP.",
        responses={
            code: {"model": Problem, "description": text}
            for code, text in (
                (404, "Not found"),
                (422, "Bad input"),
                (503, "The database is unavailable"),
            )
        },
    )
    app.state.checks = checks
    app.state.allow_fetch = allow_fetch  # whether the chat may offer the fetch tool
    _errors(app)
    app.include_router(api_routes.probes)
    app.include_router(api_routes.data, prefix="/api/v1")
    app.include_router(api_routes.chat, prefix="/api/v1")
    return app


def _errors(app: FastAPI) -> None:
    @app.exception_handler(StockError)
    async def stock_error(request: Request, exc: StockError) -> Response:
        status = status_of(exc)
        if status >= 500:
            log.warning("%s %s: %s", request.method, request.url.path, exc.message)
        detail = exc.worded(lambda field: PARAMETER_NAMES.get(field, field))
        return problem(status, exc.type, detail, exc.hint)

    @app.exception_handler(RequestValidationError)
    async def bad_input(request: Request, exc: RequestValidationError) -> Response:
        details = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'] if p != 'body') or 'body'}: {e['msg']}"
            for e in exc.errors()
        )
        return problem(422, "usage", details)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        kind = "not_found" if exc.status_code == 404 else "http"
        return problem(exc.status_code, kind, str(exc.detail))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        # The traceback goes to our log, never to the client.
        log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
        return problem(500, "internal", UNEXPECTED)


class Contained:
    """Starlette answers an unexpected error with our handler's 500 and then re-raises it
    for the server to log; we logged it already, and a server that sees it drops the
    connection. Stop it here; answer a 500 if nothing was sent yet."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        started = False

        async def tracked(message: Any) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except Exception:
            if scope["type"] != "http" or started:
                return
            log.exception("%s %s failed", scope.get("method"), scope.get("path"))
            await send_problem(send, 500, "internal", UNEXPECTED)


def wrap(app: Any, *, token: str | None, origins: list[str], rate: float, max_body: int) -> Any:
    """The ASGI stack around the application (outermost first): CORS, size, rate, token."""
    from starlette.middleware.cors import CORSMiddleware

    from stock_cli.servers.guard import BearerGuard
    from stock_cli.servers.limits import BodyLimit, RateLimit

    contained = Contained(app)
    inner = BearerGuard(contained, token=token, open_paths=OPEN_PATHS) if token else contained
    limited = RateLimit(inner, per_minute=rate, exempt=(*PROBES, "/metrics"))
    sized = BodyLimit(limited, max_bytes=max_body)
    return CORSMiddleware(
        sized,
        allow_origins=origins,
        allow_methods=["GET", "POST", "DELETE"],
        allow_headers=["Authorization", "Content-Type", "Accept"],
        expose_headers=["Retry-After"],
        max_age=600,
    )


def build(*, allow_fetch: bool = False) -> Any:
    """The whole served application, from the settings."""
    from stock_cli.config import get_settings
    from stock_cli.health.server import HealthChecks
    from stock_cli.servers import api_token

    settings = get_settings()
    checks = HealthChecks(url=settings.effective_database_url())
    return wrap(
        create_app(checks=checks, allow_fetch=allow_fetch),
        token=api_token(),
        origins=settings.cors_origins,
        rate=settings.api_rate_limit,
        max_body=settings.api_max_body,
    )


def run_api(*, host: str, port: int, allow_fetch: bool) -> None:
    """Serve until interrupted; refuses a non-loopback address without a token."""
    from stock_cli.servers import api_token, check_bind, serve_asgi

    check_bind(host, token=api_token(), command="stock serve")
    log.info("serving the API on http://%s:%s (docs at /docs)", host, port)
    serve_asgi(
        build(allow_fetch=allow_fetch), host=host, port=port, access_log=False, server_header=False
    )
