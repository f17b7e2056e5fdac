"""The FastAPI application: settings fixed at creation (the warehouse never comes from a request),
the API-key guard, and one error mapping from the library's exceptions to HTTP answers."""

from __future__ import annotations

import threading
from datetime import datetime, timezone
from typing import Annotated, Callable

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import APIKeyHeader

from spark_optimizer import __version__
from spark_optimizer.api.limits import API_KEY_HEADER, MAX_BODY_BYTES, MAX_REPORTED_ERRORS, RequestGuard, key_problem, without_paths
from spark_optimizer.config import Settings
from spark_optimizer.errors import SparkOptimizerError, TableNotFoundError

_key_header = APIKeyHeader(name=API_KEY_HEADER, auto_error=False,
                           description="Needed for POST /feedback when the server has an api_key; for every endpoint when api_key_all is true.")


class ApiState:
    """What every request shares: settings, a clock (pinned in tests) and one lock for Delta writes
    (delta-rs commits from two threads of one process would conflict)."""

    def __init__(self, settings: Settings, clock: Callable[[], datetime]):
        self.settings = settings
        self.clock = clock
        self.write_lock = threading.Lock()

    def context(self):
        """A context per request: its runners read the tables as they are now, through delta-rs."""
        from spark_optimizer.context import AppContext

        return AppContext(self.settings, clock=self.clock)

    def store(self):
        from spark_optimizer.tables.store import delta_rs_store

        return delta_rs_store(self.settings)


def state(request: Request) -> ApiState:
    return request.app.state.api


def _check_key(given: str | None, settings: Settings) -> None:
    problem = key_problem(given, settings.api_key)
    if problem is not None:
        raise HTTPException(problem[0], problem[1], headers={"WWW-Authenticate": API_KEY_HEADER} if problem[0] == 401 else None)


def read_access(request: Request, key: Annotated[str | None, Depends(_key_header)]) -> None:
    """Reads are open unless the server sets api_key_all."""
    settings = state(request).settings
    if settings.api_key and settings.api_key_all:
        _check_key(key, settings)


def write_access(request: Request, key: Annotated[str | None, Depends(_key_header)]) -> None:
    """Writes need the key whenever the server has one."""
    settings = state(request).settings
    if settings.api_key:
        _check_key(key, settings)


def _problem(request: Request, status: int, error: Exception) -> JSONResponse:
    detail = without_paths(str(error), str(state(request).settings.warehouse or ""))
    return JSONResponse({"detail": detail, "error": type(error).__name__}, status_code=status)


def _invalid_request(_: Request, error: RequestValidationError) -> JSONResponse:
    """422 in the same shape as every other error: one readable line, then the fields (the first
    few: a body of a thousand unknown keys gets a short answer, not a thousand lines)."""
    found = error.errors()
    errors = [{"loc": [str(part)[:100] for part in e.get("loc", ())], "msg": str(e.get("msg", ""))[:300],
               "type": e.get("type", "")} for e in found[:MAX_REPORTED_ERRORS]]
    more = f" (and {len(found) - MAX_REPORTED_ERRORS} more problems)" if len(found) > MAX_REPORTED_ERRORS else ""
    detail = "invalid request: " + "; ".join(f"{'.'.join(e['loc'])}: {e['msg']}" for e in errors) + more
    return JSONResponse({"detail": detail, "error": "RequestValidationError", "errors": errors}, status_code=422)


def create_app(settings: Settings, *, clock: Callable[[], datetime] | None = None,
               max_body_bytes: int = MAX_BODY_BYTES) -> FastAPI:
    """The REST API over the warehouse of `settings` (read with delta-rs; no JVM is started).

    Example::

        import uvicorn
        uvicorn.run(create_app(load_settings(warehouse="/tmp/wh")), host="127.0.0.1", port=8080)
    """
    from spark_optimizer.analysis.report import ApplicationNotFoundError
    from spark_optimizer.api.routes import router
    from spark_optimizer.recommender.feedback import FeedbackError
    from spark_optimizer.recommender.lookup import UnknownRecommendationError
    from spark_optimizer.runners.analyze import NotAnalyzedError

    from fastapi_offline import FastAPIOffline

    # /docs (Swagger UI) and /redoc from the assets fastapi-offline ships, not a CDN: they work without internet.
    app = FastAPIOffline(title="Spark Optimizer", version=__version__,
                         description="Recommendations, job history and analyses from a Spark Optimizer warehouse.")
    app.state.api = ApiState(settings, clock or (lambda: datetime.now(timezone.utc)))
    app.include_router(router)
    app.add_middleware(RequestGuard, settings=settings, max_body_bytes=max_body_bytes)

    app.add_exception_handler(RequestValidationError, _invalid_request)
    # Starlette picks the handler of the exception's nearest class.
    app.add_exception_handler(ApplicationNotFoundError, lambda r, e: _problem(r, 404, e))
    app.add_exception_handler(UnknownRecommendationError, lambda r, e: _problem(r, 404, e))
    app.add_exception_handler(NotAnalyzedError, lambda r, e: _problem(r, 409, e))
    app.add_exception_handler(TableNotFoundError, lambda r, e: _problem(r, 409, e))
    app.add_exception_handler(FeedbackError, lambda r, e: _problem(r, 422, e))
    # The library's other refusals (an infeasible deadline, a configuration no instance fits) are
    # answers about the request, not server faults.
    app.add_exception_handler(SparkOptimizerError, lambda r, e: _problem(r, 422, e))
    app.add_exception_handler(HTTPException, lambda _, e: JSONResponse({"detail": e.detail, "error": "HTTPException"},
                                                                        status_code=e.status_code, headers=e.headers))
    return app
