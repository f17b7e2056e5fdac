"""One odd app never blocks training: after collecting every public log, `train` succeeds and says
which runs it left out and why (issue 16, item 6)."""

from __future__ import annotations

from spark_optimizer.tables import APPLICATIONS, RUNS


def test_train_succeeds_on_all_public_logs_and_records_what_it_skipped(trained_public_corpus):
    _, store, summary = trained_public_corpus  # ingested, analyzed, then trained with 2 folds

    runs = store.read_arrow(RUNS).to_pandas()
    recorded = runs["skip_reason"].dropna().value_counts().to_dict()
    assert summary.skipped == recorded and summary.runs == len(runs) - sum(recorded.values())
    assert summary.runs >= 2 and recorded, "the public corpus has incomplete apps: some runs must be skipped with a reason"
    assert summary.skipped_line().startswith(f"skipped {sum(recorded.values())} run(s): ")
    assert "skip_reason" in summary.skipped_line()
    # Logs without a Spark version (Spark 1.2) are runs like any other, not a failure of the whole step.
    apps = store.read_arrow(APPLICATIONS).to_pandas()
    unversioned = set(apps.loc[apps["spark_version"].fillna("") == "", "app_id"])
    assert unversioned and unversioned <= set(runs["run_id"].str.split("/").str[0])
