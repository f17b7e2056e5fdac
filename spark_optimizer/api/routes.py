"""The endpoints: each one validates, calls the library function the CLI calls, and shapes the answer."""

from __future__ import annotations

import json
import math
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import JSONResponse

from spark_optimizer.api.app import ApiState, read_access, state, write_access
from spark_optimizer.api.schemas import (
    ID_PATTERN, AnalyzeQuery, AttemptQuery, FeedbackRecorded, FeedbackRequest, Health, JobsPage, JobsQuery, Problem,
    Recommendation, RecommendRequest, TableState,
)
from spark_optimizer.errors import SparkOptimizerError

router = APIRouter()
State = Annotated[ApiState, Depends(state)]
AppId = Annotated[str, Path(min_length=1, max_length=200, pattern=ID_PATTERN, description="An application id, e.g. application_1538416563558_0014.")]
ERRORS = {code: {"model": Problem} for code in (401, 403, 404, 409, 422)}


class NotAnalyzedError(SparkOptimizerError):
    """Thrown when an application's analysis is asked for before `spark-optimizer analyze` ran on it."""


def json_safe(value: Any) -> Any:
    """Rows as JSON: NaN and infinities become null (JSON has neither), dates ISO strings."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


def _attempt_ref(app_id: str, attempt_id: str | None) -> str:
    return app_id + (f"/{attempt_id}" if attempt_id else "")


@router.post("/recommend", response_model=Recommendation, responses=ERRORS, dependencies=[Depends(read_access)], tags=["recommend"])
def recommend(body: RecommendRequest, api: State) -> Any:
    """The configuration for a job or job type at an input size: the same answer as
    `spark-optimizer recommend --format json` (reads the recommendations table; no JVM)."""
    from spark_optimizer.recommender.lookup import as_json, lookup

    answer = lookup(api.settings, input_bytes=body.input_bytes, job_type=body.job_type, signature=body.signature,
                    app_name=body.app_name, deadline_s=body.deadline_s, budget=body.budget, objective=body.objective,
                    cloud=body.cloud, spot=body.spot,
                    candidates=None if body.candidates is None else [c.model_dump(exclude_none=True) for c in body.candidates])
    return json_safe(json.loads(as_json(answer)))


@router.get("/jobs", response_model=JobsPage, responses=ERRORS, dependencies=[Depends(read_access)], tags=["jobs"])
def list_jobs(query: Annotated[JobsQuery, Query()], api: State) -> Any:
    """Ingested application attempts, newest first, filtered like `spark-optimizer jobs`, one page at a time."""
    from spark_optimizer.analysis.report import list_applications

    since_ms, until_ms, min_duration_ms = query.bounds_ms()
    rows = list_applications(api.store(), query.name, query.status, query.platform, since_ms, until_ms, min_duration_ms)
    return {"total": len(rows), "offset": query.offset, "limit": query.limit,
            "items": json_safe(rows[query.offset:query.offset + query.limit])}


@router.get("/jobs/{app_id}", response_model=dict[str, Any], responses=ERRORS, dependencies=[Depends(read_access)], tags=["jobs"])
def get_job(app_id: AppId, query: Annotated[AttemptQuery, Query()], api: State) -> Any:
    """The `applications` row of one attempt (default: the latest), plus whether it was analyzed."""
    import pyarrow.compute as pc

    from spark_optimizer.analysis.report import is_analyzed, resolve_attempt
    from spark_optimizer.tables import APPLICATIONS

    store = api.store()
    app, attempt = resolve_attempt(store, _attempt_ref(app_id, query.attempt_id))
    table = store.read_arrow(APPLICATIONS)
    [row] = table.filter(pc.and_(pc.equal(table["app_id"], app), pc.equal(table["attempt_id"], attempt))).to_pylist()
    return json_safe({**row, "analyzed": is_analyzed(store, app, attempt)})


@router.get("/analyze/{app_id}", response_model=dict[str, Any], responses=ERRORS, dependencies=[Depends(read_access)], tags=["jobs"])
def analyze(app_id: AppId, query: Annotated[AnalyzeQuery, Query()], api: State) -> Any:
    """The analysis of one application (summary, metrics, findings with configuration changes,
    heaviest stages, executor what-if): `spark-optimizer analyze APP_ID --format json`. Only for
    analyzed applications; the API never starts Spark inside a request."""
    from spark_optimizer.analysis.report import build_app_report, is_analyzed, merged_conf, resolve_attempt

    store = api.store()
    app, attempt = resolve_attempt(store, _attempt_ref(app_id, query.attempt_id))
    if not is_analyzed(store, app, attempt):
        raise NotAnalyzedError(f"application {_attempt_ref(app, attempt)!r} is ingested but not analyzed; run "
                               f"`spark-optimizer analyze {_attempt_ref(app, attempt)} --warehouse {api.settings.warehouse}` "
                               "(or `spark-optimizer analyze` for every new application), then ask again")
    report = build_app_report(store, app, attempt, query.executors)
    return json_safe({**report, "spark_submit_conf": merged_conf(report)})


@router.post("/feedback", response_model=FeedbackRecorded, status_code=201, responses=ERRORS,
             dependencies=[Depends(write_access)], tags=["recommend"])
def feedback(body: FeedbackRequest, api: State) -> Any:
    """Record how a run that applied a recommendation went (delta-rs writes to `feedback`, and to
    `runs` for signature-level ids so the next training learns from it)."""
    from spark_optimizer.recommender.feedback import record_feedback

    with api.write_lock:
        record = record_feedback(api.settings, body.recommendation_id, body.runtime_ms, api.clock(), cost=body.cost,
                                 app_id=body.app_id, note=body.note)
    return json_safe({"feedback_id": record.feedback_id, "recommendation_id": body.recommendation_id, "run_id": record.run_id,
                      "predicted_runtime_ms": record.predicted_runtime_ms, "actual_runtime_ms": body.runtime_ms,
                      "runtime_error": record.runtime_error})


@router.get("/health", response_model=Health, responses={503: {"model": Health}}, dependencies=[Depends(read_access)], tags=["health"])
def health(api: State) -> Any:
    """Whether the warehouse can be read, and the Delta version of each table (503 when the
    warehouse or its applications table cannot be read)."""
    from spark_optimizer.tables import ALL_TABLES, APPLICATIONS

    store = api.store()
    tables: dict[str, TableState] = {}
    detail = None
    try:
        for spec in ALL_TABLES:
            exists = store.exists(spec)
            tables[spec.name] = TableState(exists=exists, version=store.version(spec) if exists else None)
    except Exception as error:  # noqa: BLE001 - a health check reports any failure to read instead of raising it
        detail = f"cannot read the warehouse: {type(error).__name__}: {error}"
    reachable = detail is None and any(t.exists for t in tables.values())
    ok = reachable and tables[APPLICATIONS.name].exists
    if detail is None and not ok:
        detail = "no applications table in the warehouse; run `spark-optimizer collect` (or `quickstart`) first"
    from spark_optimizer import __version__

    body = Health(status="ok" if ok else "degraded", version=__version__, warehouse_reachable=reachable, tables=tables, detail=detail)
    return JSONResponse(body.model_dump(), status_code=200 if ok else 503)
