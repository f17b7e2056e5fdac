"""Which files form which event log."""

from spark_optimizer.eventlog.discovery import LogFile, group_log_files


def files(*paths, size=10):
    return [LogFile(p, size, 1000 + i) for i, p in enumerate(paths)]


def by_source(groups):
    return {g.source_path: g for g in groups}


def test_a_rolling_folder_is_one_log_read_in_part_number_order():
    groups = by_source(group_log_files(files(
        "/logs/eventlog_v2_app-1/events_10_app-1.zstd",
        "/logs/eventlog_v2_app-1/events_2_app-1.zstd",
        "/logs/eventlog_v2_app-1/appstatus_app-1",
        "/logs/eventlog_v2_app-1/.appstatus_app-1.crc",
    )))
    group = groups["/logs/eventlog_v2_app-1"]
    assert group.kind == "rolling_dir" and not group.in_progress
    assert [p.name for p in group.parts] == ["events_2_app-1.zstd", "events_10_app-1.zstd"]


def test_a_rolling_folder_whose_status_file_is_in_progress_is_in_progress():
    [group] = group_log_files(files("/l/eventlog_v2_a/events_1_a", "/l/eventlog_v2_a/appstatus_a.inprogress"))
    assert group.in_progress


def test_databricks_rolled_parts_come_in_date_order_with_the_current_file_last():
    [group] = group_log_files(files(
        "/dbfs/cluster-logs/eventlog/eventlog",
        "/dbfs/cluster-logs/eventlog/eventlog-2022-01-14--18-00.gz",
        "/dbfs/cluster-logs/eventlog/eventlog-2022-01-14--17-00.gz",
    ))
    assert group.kind == "databricks_rolled"
    assert [p.name for p in group.parts] == ["eventlog-2022-01-14--17-00.gz", "eventlog-2022-01-14--18-00.gz", "eventlog"]


def test_the_spark_1_2_folder_format_takes_its_version_and_completion_from_marker_files():
    [group] = group_log_files(files(
        "/l/local-1422981780767/EVENT_LOG_1", "/l/local-1422981780767/SPARK_VERSION_1.2.0",
        "/l/local-1422981780767/APPLICATION_COMPLETE",
    ))
    assert (group.kind, group.spark_version_hint, group.in_progress) == ("legacy_dir", "1.2.0", False)
    assert group.app_id_hint == "local-1422981780767"


def test_an_in_progress_file_keeps_the_name_it_will_have_when_complete():
    [group] = group_log_files(files("/l/app-20261123232240-0000.zstd.inprogress"))
    assert group.source_path == "/l/app-20261123232240-0000.zstd" and group.in_progress


def test_zip_downloads_documentation_and_plain_logs_are_told_apart():
    groups = by_source(group_log_files(files("/l/eventLogs-application_1_2.zip", "/l/README.md", "/l/local-1")))
    assert {p: g.kind for p, g in groups.items()} == {
        "/l/eventLogs-application_1_2.zip": "zip_archive", "/l/README.md": "not_a_log", "/l/local-1": "single_file"}


def test_the_fingerprint_changes_when_a_part_grows_or_appears():
    [before] = group_log_files([LogFile("/l/eventlog_v2_a/events_1_a", 10, 5)])
    [grown] = group_log_files([LogFile("/l/eventlog_v2_a/events_1_a", 20, 6)])
    [more] = group_log_files([LogFile("/l/eventlog_v2_a/events_1_a", 10, 5), LogFile("/l/eventlog_v2_a/events_2_a", 1, 7)])
    assert len({before.fingerprint, grown.fingerprint, more.fingerprint}) == 3


def test_batches_are_bounded_by_log_count_and_stored_bytes():
    from spark_optimizer.eventlog.ingest import plan_batches

    groups = group_log_files([LogFile(f"/l/app-{i}", size, 1) for i, size in enumerate([10, 60, 30, 200, 5])])
    batches = plan_batches(groups, max_logs=3, max_bytes=100)
    assert [[g.size_bytes for g in b] for b in batches] == [[60, 30, 10], [200], [5]]
    assert sum(len(b) for b in batches) == 5
