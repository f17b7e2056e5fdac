import importlib.util

import pytest
import typer

from spark_optimizer.cli import app
from tests.conftest import REPO_ROOT

GENERATOR = REPO_ROOT / "scripts" / "generate_cli_reference.py"


@pytest.fixture(scope="module")
def generator():
    spec = importlib.util.spec_from_file_location("generate_cli_reference", GENERATOR)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_committed_cli_reference_matches_the_cli(generator):
    assert (REPO_ROOT / "docs" / "cli-reference.md").read_text(encoding="utf-8") == generator.render(), (
        "docs/cli-reference.md is stale: run `python scripts/generate_cli_reference.py`"
    )


def test_the_reference_names_every_command_argument_and_option(generator):
    reference = generator.render()
    root = typer.main.get_command(app)
    ctx = typer.Context(root, info_name="spark-optimizer")
    for name in root.list_commands(ctx):
        command = root.get_command(ctx, name)
        assert f"## `spark-optimizer {name}`" in reference
        for param in command.params:
            if getattr(param, "hidden", False):  # older spellings kept working, not documented
                continue
            if param.param_type_name == "option":
                for option in [*param.opts, *param.secondary_opts]:
                    assert f"`{option}`" in reference, f"{name}: {option} missing"
            else:
                assert f"`{generator._argument_label(param)}`" in reference, f"{name}: argument {param.name} missing"


def test_the_reference_does_not_depend_on_the_terminal(generator, monkeypatch):
    wide = generator.render()
    monkeypatch.setenv("COLUMNS", "40")
    monkeypatch.setenv("FORCE_COLOR", "1")
    monkeypatch.setenv("TERM", "xterm-256color")
    narrow = generator.render()
    assert narrow == wide
    assert "\x1b[" not in narrow


def test_sub_app_commands_and_global_options_are_documented(generator, monkeypatch):
    toy = typer.Typer(help="Toy CLI.", add_completion=False)
    models = typer.Typer(help="Work with models.")
    toy.add_typer(models, name="models")

    @toy.callback()
    def main(version: bool = typer.Option(False, "--version", help="Print the version and exit.")):
        """Toy CLI."""

    @models.command("list")
    def list_models(limit: int = typer.Option(50, help="At most this many.")):
        """List the models."""

    monkeypatch.setattr(generator, "app", toy)
    reference = generator.render()
    assert "| `--version` |  |  | Print the version and exit. |" in reference
    assert "spark-optimizer models [OPTIONS] COMMAND [ARGS]..." in reference
    assert "### `spark-optimizer models list`" in reference
    assert "| `--limit` | integer | `50` | At most this many. |" in reference
    assert "| [`spark-optimizer models list`](#spark-optimizer-models-list) | List the models. |" in reference


def test_the_reference_documents_the_exit_codes(generator):
    from spark_optimizer.runners.result import EXIT_CODES

    reference = generator.render()
    for code, meaning in EXIT_CODES.items():
        assert f"| {code} | {meaning} |" in reference
