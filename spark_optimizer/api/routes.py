"""The endpoints: each one validates, calls the runner the CLI calls, and answers with its JSON."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import JSONResponse

from spark_optimizer.api.app import ApiState, read_access, state, write_access
from spark_optimizer.api.schemas import (
    ID_PATTERN, AnalyzeQuery, FeedbackRecorded, FeedbackRequest, Health, JobsPage, JobsQuery, Problem,
    Recommendation, RecommendRequest, TableState,
)
from spark_optimizer.refs import attempt_ref
from spark_optimizer.runners.result import json_safe

router = APIRouter()
State = Annotated[ApiState, Depends(state)]
AppId = Annotated[str, Path(min_length=1, max_length=200, pattern=ID_PATTERN, description="An application id, e.g. application_1538416563558_0014.")]
ERRORS = {code: {"model": Problem} for code in (401, 403, 404, 409, 422)}


@router.post("/recommend", response_model=Recommendation, responses=ERRORS, dependencies=[Depends(read_access)], tags=["recommend"])
def recommend(body: RecommendRequest, api: State) -> Any:
    """The configuration for a job or job type at an input size: the same answer as
    `spark-optimizer recommend --format json` (reads the recommendations table; no JVM)."""
    result = api.context().recommend.run(
        input_size=body.input_bytes, job_type=body.job_type, signature=body.signature, app_name=body.app_name,
        deadline=body.deadline_s, budget=body.budget, objective=body.objective, cloud=body.cloud, spot=body.spot,
        candidates=None if body.candidates is None else [c.model_dump(exclude_none=True) for c in body.candidates])
    return json_safe(result.data)


@router.get("/jobs", response_model=JobsPage, responses=ERRORS, dependencies=[Depends(read_access)], tags=["jobs"])
def list_jobs(query: Annotated[JobsQuery, Query()], api: State) -> Any:
    """Ingested application attempts, newest first, filtered like `spark-optimizer jobs`, one page at a time."""
    return json_safe(api.context().jobs.page(name=query.name, status=query.status, platform=query.platform,
                                             since=query.since, until=query.until, min_duration=query.min_duration,
                                             limit=query.limit, offset=query.offset))


AttemptId = Annotated[str, Path(min_length=1, max_length=64, pattern=ID_PATTERN,
                               description="The attempt: `/jobs/APP_ID/ATTEMPT` is the CLI's APP_ID/ATTEMPT.")]


def _job(api: ApiState, app_ref: str) -> Any:
    return json_safe(api.context().jobs.get(app_ref))


def _analysis(api: ApiState, app_ref: str, query: AnalyzeQuery) -> Any:
    return json_safe(api.context().analyze.report(app_ref, query.executors, analyze_missing=False))


@router.get("/jobs/{app_id}", response_model=dict[str, Any], responses=ERRORS, dependencies=[Depends(read_access)], tags=["jobs"])
def get_job(app_id: AppId, api: State) -> Any:
    """The `applications` row of the latest attempt of an application, plus whether it was analyzed."""
    return _job(api, app_id)


@router.get("/jobs/{app_id}/{attempt_id}", response_model=dict[str, Any], responses=ERRORS, dependencies=[Depends(read_access)],
            tags=["jobs"])
def get_job_attempt(app_id: AppId, attempt_id: AttemptId, api: State) -> Any:
    """The `applications` row of one attempt (the CLI's APP_ID/ATTEMPT), plus whether it was analyzed."""
    return _job(api, attempt_ref(app_id, attempt_id))


@router.get("/analyze/{app_id}", response_model=dict[str, Any], responses=ERRORS, dependencies=[Depends(read_access)], tags=["jobs"])
def analyze(app_id: AppId, query: Annotated[AnalyzeQuery, Query()], api: State) -> Any:
    """The analysis of the latest attempt of an application (summary, metrics, findings with configuration
    changes, heaviest stages, executor what-if): `spark-optimizer analyze APP_ID --format json`. Only for
    analyzed applications; the API never starts Spark inside a request."""
    return _analysis(api, app_id, query)


@router.get("/analyze/{app_id}/{attempt_id}", response_model=dict[str, Any], responses=ERRORS,
            dependencies=[Depends(read_access)], tags=["jobs"])
def analyze_attempt(app_id: AppId, attempt_id: AttemptId, query: Annotated[AnalyzeQuery, Query()], api: State) -> Any:
    """The analysis of one attempt: `spark-optimizer analyze APP_ID/ATTEMPT --format json`."""
    return _analysis(api, attempt_ref(app_id, attempt_id), query)


@router.post("/feedback", response_model=FeedbackRecorded, status_code=201, responses=ERRORS,
             dependencies=[Depends(write_access)], tags=["recommend"])
def feedback(body: FeedbackRequest, api: State) -> Any:
    """Record how a run that applied a recommendation went (delta-rs writes to `feedback`, and to
    `runs` for signature-level ids so the next training learns from it)."""
    with api.write_lock:
        result = api.context().feedback.run(body.recommendation_id, body.runtime_ms, cost=body.cost, app_id=body.app_id,
                                            note=body.note)
    return json_safe(result.data)


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
