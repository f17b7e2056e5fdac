"""Tiny builders of Spark listener events, spelled exactly as Spark writes them (see
SparkListenerEvent JSON in org.apache.spark.util.JsonProtocol)."""

from __future__ import annotations


def log_start(version="4.0.1"):
    return {"Event": "SparkListenerLogStart", "Spark Version": version}


def app_start(app_id="app-1", name="nightly-etl", time=1_000, attempt=None, user="etl"):
    event = {"Event": "SparkListenerApplicationStart", "App Name": name, "App ID": app_id, "Timestamp": time, "User": user}
    if attempt is not None:
        event["App Attempt ID"] = attempt
    return event


def app_end(time=100_000, exit_code=0):
    return {"Event": "SparkListenerApplicationEnd", "Timestamp": time, "ExitCode": exit_code}


def environment(**spark_properties):
    return {
        "Event": "SparkListenerEnvironmentUpdate",
        "JVM Information": {"Java Version": "17.0.15"},
        "Spark Properties": {k.replace("__", "."): v for k, v in spark_properties.items()},
        "System Properties": {},
        "Classpath Entries": {},
    }


def executor_added(executor_id="1", cores=4, time=2_000, host="worker-1"):
    return {
        "Event": "SparkListenerExecutorAdded",
        "Timestamp": time,
        "Executor ID": executor_id,
        "Executor Info": {"Host": host, "Total Cores": cores, "Log Urls": {}, "Resource Profile Id": 0},
    }


def executor_removed(executor_id="1", time=90_000, reason="Executor killed by driver."):
    return {"Event": "SparkListenerExecutorRemoved", "Timestamp": time, "Executor ID": executor_id, "Removed Reason": reason}


def job_start(job_id=0, stage_ids=(0,), time=3_000, sql_execution_id=None, tasks_per_stage=2):
    props = {} if sql_execution_id is None else {"spark.sql.execution.id": str(sql_execution_id)}
    return {
        "Event": "SparkListenerJobStart",
        "Job ID": job_id,
        "Submission Time": time,
        "Stage Infos": [{"Stage ID": s, "Stage Attempt ID": 0, "Stage Name": f"stage {s}",
                         "Number of Tasks": tasks_per_stage, "Parent IDs": []} for s in stage_ids],
        "Stage IDs": list(stage_ids),
        "Properties": props,
    }


def job_end(job_id=0, time=50_000, failed=False):
    result = {"Result": "JobFailed", "Exception": {"Message": "Job aborted due to stage failure"}} if failed else {"Result": "JobSucceeded"}
    return {"Event": "SparkListenerJobEnd", "Job ID": job_id, "Completion Time": time, "Job Result": result}


def stage_info(stage_id=0, attempt=0, tasks=2, submitted=3_100, completed=None, failure=None, parents=()):
    info = {"Stage ID": stage_id, "Stage Attempt ID": attempt, "Stage Name": f"map at job.py:{stage_id}",
            "Number of Tasks": tasks, "Parent IDs": list(parents), "Submission Time": submitted}
    if completed is not None:
        info["Completion Time"] = completed
    if failure is not None:
        info["Failure Reason"] = failure
    return info


def stage_submitted(**kwargs):
    return {"Event": "SparkListenerStageSubmitted", "Stage Info": stage_info(**kwargs), "Properties": {}}


def stage_completed(**kwargs):
    kwargs.setdefault("completed", 40_000)
    return {"Event": "SparkListenerStageCompleted", "Stage Info": stage_info(**kwargs)}


def task_end(task_id=0, stage_id=0, stage_attempt=0, executor_id="1", launch=4_000, finish=5_000,
             reason="Success", run_time=900, cpu_time_ns=800_000_000, gc_ms=10, input_bytes=0,
             remote_read=0, local_read=0, shuffle_written=0, memory_spilled=0, disk_spilled=0,
             peak_execution_memory=0, speculative=False, metrics=True):
    end_reason = {"Reason": reason}
    if reason == "ExceptionFailure":
        end_reason.update({"Class Name": "java.lang.OutOfMemoryError", "Description": "Java heap space"})
    event = {
        "Event": "SparkListenerTaskEnd",
        "Stage ID": stage_id,
        "Stage Attempt ID": stage_attempt,
        "Task Type": "ShuffleMapTask",
        "Task End Reason": end_reason,
        "Task Info": {"Task ID": task_id, "Index": task_id, "Attempt": 0, "Launch Time": launch,
                      "Executor ID": executor_id, "Host": "worker-1", "Locality": "PROCESS_LOCAL",
                      "Speculative": speculative, "Getting Result Time": 0, "Finish Time": finish,
                      "Failed": reason not in ("Success", "TaskKilled"), "Killed": reason == "TaskKilled",
                      "Accumulables": []},
    }
    if metrics:
        event["Task Metrics"] = {
            "Executor Deserialize Time": 5, "Executor Deserialize CPU Time": 4_000_000,
            "Executor Run Time": run_time, "Executor CPU Time": cpu_time_ns, "Peak Execution Memory": peak_execution_memory,
            "Result Size": 2000, "JVM GC Time": gc_ms, "Result Serialization Time": 1,
            "Memory Bytes Spilled": memory_spilled, "Disk Bytes Spilled": disk_spilled,
            "Shuffle Read Metrics": {"Remote Blocks Fetched": 1, "Local Blocks Fetched": 1, "Fetch Wait Time": 3,
                                     "Remote Bytes Read": remote_read, "Remote Bytes Read To Disk": 0,
                                     "Local Bytes Read": local_read, "Total Records Read": 10},
            "Shuffle Write Metrics": {"Shuffle Bytes Written": shuffle_written, "Shuffle Write Time": 2_000_000,
                                      "Shuffle Records Written": 10},
            "Input Metrics": {"Bytes Read": input_bytes, "Records Read": 100},
            "Output Metrics": {"Bytes Written": 0, "Records Written": 0},
            "Updated Blocks": [],
        }
    return event
