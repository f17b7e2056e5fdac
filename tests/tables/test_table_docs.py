from spark_optimizer.tables.docs import render
from tests.conftest import REPO_ROOT


def test_the_table_catalogue_in_docs_matches_the_code():
    assert (REPO_ROOT / "docs" / "tables.md").read_text() == render(), (
        "docs/tables.md is stale: run `python -m spark_optimizer.tables.docs > docs/tables.md`"
    )
