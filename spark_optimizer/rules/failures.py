"""Failures first: what failed (jobs, stages, tasks), why (exception class and first message line),
how much it cost, and the settings that address the cause — memory, partitions, GPU memory for
RAPIDS runs — rather than more retries."""

from __future__ import annotations

import re
from typing import Any, Mapping

from spark_optimizer.rules.model import AppFacts, Finding, severity_for
from spark_optimizer.spark_rules import MIB, executor_memory_text, memory_text

_JAVA_CLASS = re.compile(r"\b(?:[a-z_$][\w$]*\.)+([A-Z][\w$]*)(?::[ \t]*([^\n]*))?")
_PYTHON_ERROR = re.compile(r"^([\w.]*(?:Error|Exception|Exit|Interrupt)): ?([^\n]*)$", re.M)
_PYTHON_FRAME = re.compile(r'^\s*File "([^"]+)", line (\d+), in (\S+)', re.M)
_ENVELOPE = re.compile(r"^(\w+): ")  # Spark's TaskEndReason name, as the accumulator prefixes it

CAUSES = {  # category -> pattern over the whole failure text (first match in this order wins)
    "gpu_oom": re.compile(r"Gpu\w*OOM|GPU OutOfMemory|RmmException|GpuRetryOOM", re.I),
    "jvm_oom": re.compile(r"OutOfMemoryError|Java heap space|GC overhead limit exceeded", re.I),
    "container_memory": re.compile(
        r"exceed\w* (physical |virtual )?memory limits?|OOMKilled|exit (code|status):? ?137|Exit status: 137|"
        r"Container killed .*memory", re.I),
    "fetch_failed": re.compile(r"FetchFailed|MetadataFetchFailed"),
    "executor_lost": re.compile(r"ExecutorLostFailure|Executor Process Lost|executor lost", re.I),
    "cancelled": re.compile(r"^TaskKilled|Stage cancelled|SparkContext was shut down|Job \d+ cancelled", re.I),
}


def _steady(message: str) -> str:
    """A message without the parts that differ between attempts (addresses, ids), so equal causes group."""
    message = re.sub(r"0x[0-9a-fA-F]+", "0x…", message)
    return re.sub(r"[\w.-]*\d{4,}[\w.-]*", "…", message).strip()[:160]  # ids, containers, hosts, timestamps


def failure_cause(text: str) -> str:
    """'GpuSplitAndRetryOOM: GPU OutOfMemory: could not split inputs and retry.' from a task, stage or job
    failure text: the exception class (short name) and the first line of its message."""
    return _steady(_cause(text or ""))


def _cause(text: str) -> str:
    if "PythonException" in text:
        raised = [m for m in _PYTHON_ERROR.findall(text) if not m[0].endswith("PythonException")]
        if raised:
            name, message = raised[-1]  # the error the Python worker raised is the traceback's last line
            return f"PythonException ({name}: {message.strip()})"
        frames = _PYTHON_FRAME.findall(text)
        if frames:  # the log kept only the start of the traceback: name where it was raised
            path, line, function = frames[-1]
            return f"PythonException (raised in {function} at {path.rsplit('/', 1)[-1]}:{line}; the message is cut off in the log)"
    match = _JAVA_CLASS.search(text)
    if match and re.search(r"Exception|Error|OOM|Throwable|Failure", match.group(1)):
        message = (match.group(2) or "").strip()
        sentence = message.find(". ", 20)  # the first sentence says it; what follows is attempt detail
        return f"{match.group(1)}: {message[: sentence + 1] if sentence > 0 else message}".rstrip(": ")
    envelope = _ENVELOPE.match(text)
    first_line = text.splitlines()[0] if text else ""
    if envelope:
        rest = re.sub(r"^executor \S+: ", "", first_line[envelope.end():])
        return f"{envelope.group(1)}: {rest[:160]}".rstrip(": ")
    return first_line[:160]


def cause_category(text: str) -> str:
    for category, pattern in CAUSES.items():
        if pattern.search(text or ""):
            return category
    return "application"


def _fixes(facts: AppFacts, categories: set[str], p: Mapping[str, Any]) -> tuple[dict[str, str], list[str]]:
    """Settings that address the causes, and what each does."""
    change: dict[str, str] = {}
    why: list[str] = []
    partitions = facts.conf_int("spark.sql.shuffle.partitions")
    if "gpu_oom" in categories:
        concurrent = facts.conf_int("spark.rapids.sql.concurrentGpuTasks", 2)
        if concurrent > 1:
            change["spark.rapids.sql.concurrentGpuTasks"] = str(max(1, concurrent // 2))
        batch = facts.conf_bytes("spark.rapids.sql.batchSizeBytes", "1g")
        change["spark.rapids.sql.batchSizeBytes"] = memory_text(max(64, batch / MIB / 2))
        split = facts.conf_bytes("spark.sql.files.maxPartitionBytes")
        if split / MIB > 32:
            change["spark.sql.files.maxPartitionBytes"] = f"{max(32, int(split / MIB // 2))}m"
        change["spark.sql.shuffle.partitions"] = str(partitions * 2)
        why.append("GPU memory ran out: fewer tasks sharing a GPU, smaller GPU batches and smaller input splits and "
                   "shuffle partitions keep each task's working set within GPU memory")
    memory = facts.executor_memory_mb
    if "jvm_oom" in categories:
        if memory:
            change["spark.executor.memory"] = executor_memory_text(memory * p["memory_increase"])
        change.setdefault("spark.sql.shuffle.partitions", str(partitions * 2))
        why.append("the JVM heap ran out: more heap per executor, and smaller partitions so each task holds less")
    if "container_memory" in categories or "fetch_failed" in categories:
        overhead = facts.executor_overhead_mb(memory or 0)
        change["spark.executor.memoryOverhead"] = memory_text(overhead * p["memory_increase"])
        why.append("containers were killed for memory (or shuffle files vanished with their executor): more off-heap "
                   "overhead per executor")
    if "fetch_failed" in categories:
        change.setdefault("spark.sql.shuffle.partitions", str(partitions * 2))
        why.append("shuffle fetches failed: smaller shuffle blocks (more partitions) are fetched with less memory")
    return change, why


def failed_tasks(facts: AppFacts, p: Mapping[str, Any]) -> Finding | None:
    """Failed jobs, stages and task attempts, with their causes; severe when a job failed."""
    failed = facts.app.get("failed_task_count") or 0
    total = facts.app.get("task_count") or 0
    failed_jobs = [j for j in facts.jobs if j.get("result") == "failed"]
    ended = [s for s in facts.stages if s.get("failure_reason")]
    failed_stages = [s for s in ended if cause_category(s["failure_reason"]) != "cancelled"]
    cancelled_stages = len(ended) - len(failed_stages)  # stopped because something else failed
    if not failed and not failed_jobs and not failed_stages:
        return None
    texts: dict[str, int] = dict(facts.failure_reasons)  # task failure text -> attempts
    for stage in failed_stages:
        texts[stage["failure_reason"]] = texts.get(stage["failure_reason"], 0) + 1
    for job in failed_jobs:  # a job's reason repeats its failed stage's; listed so no cause goes unnamed
        texts.setdefault(job.get("failure_reason") or "", 0)
    causes: dict[str, dict[str, Any]] = {}
    for text, count in texts.items():
        if not text:
            continue
        category = cause_category(text)
        if category == "cancelled":
            continue  # a consequence of another failure, not a cause
        cause = failure_cause(text)
        entry = causes.setdefault(cause, {"count": 0, "category": category})
        entry["count"] += count
    top = dict(sorted(causes.items(), key=lambda kv: -kv[1]["count"])[: p["top_causes"]])
    categories = {c["category"] for c in top.values()}
    share = failed / total if total else 0.0
    if failed_jobs:
        last_job = max(facts.jobs, key=lambda j: j.get("job_id") or 0)
        severity = "critical" if last_job.get("result") == "failed" or len(failed_jobs) == len(facts.jobs) else "severe"
    else:
        severity = severity_for(share, p["severity"]) or "low"
        if failed_stages and severity in ("low", "info"):
            severity = "moderate"
    change, why = _fixes(facts, categories, p)
    headline = next(iter(top), None)
    parts = [f"{len(failed_jobs)} job(s)" if failed_jobs else "", f"{len(failed_stages)} stage attempt(s)" if failed_stages else "",
             f"{failed} of {total} task attempts" if failed else ""]
    title = " and ".join(x for x in parts if x) + " failed" + (f": {headline}" if headline else "")
    if categories <= {"application"}:
        why.append("the failures are errors raised by the application's own code: no Spark setting fixes them; "
                   "retrying only repeats them")
    elif "executor_lost" in categories and not change:
        why.append("executors were lost without a memory or shuffle cause in the log: see executor_loss for their removal reasons")
    return Finding(
        "failed_tasks", "reliability", severity, title[:300],
        {"failed_jobs": len(failed_jobs), "failed_stages": len(failed_stages), "cancelled_stages": cancelled_stages,
         "failed_tasks": failed, "tasks": total,
         "failed_task_share": round(share, 4),
         "failed_task_time_ms": sum(s.get("task_time_ms") or 0 for s in failed_stages),
         "causes": {cause: entry["count"] for cause, entry in top.items()},
         "cause_categories": sorted(categories), "accelerator": facts.metrics.get("accelerator")},
        change,
        "; ".join(why) + ".",
        sorted({s["stage_id"] for s in failed_stages}),
    )
