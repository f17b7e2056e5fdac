"""Writes docs/cli-reference.md from the Typer app: every command, its arguments and options.

    python scripts/generate_cli_reference.py            # rewrite docs/cli-reference.md
    python scripts/generate_cli_reference.py --check    # exit 1 when the committed file is stale

The text is built from the commands' parameters, not from `--help` screens, so it does not depend
on the terminal's width, colours or Rich; tests/test_cli_reference.py fails when the file is stale.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import typer

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))  # document the CLI of this checkout, not another installed copy

import spark_optimizer.cli as cli_package  # noqa: E402
from spark_optimizer.cli import app  # noqa: E402
from spark_optimizer.runners.result import EXIT_CODES  # noqa: E402

PROGRAM = "spark-optimizer"
REFERENCE = REPO_ROOT / "docs" / "cli-reference.md"
REGENERATE = "python scripts/generate_cli_reference.py"

_TYPE_NAMES = {"str": "text", "int": "integer", "float": "number", "Path": "path", "bool": ""}


def _paragraphs(text: str | None) -> str:
    """A docstring's paragraphs with their line breaks joined (Click's `\\b` no-rewrap marker dropped)."""
    if not text:
        return ""
    blocks = [" ".join(line.strip() for line in block.splitlines() if line.strip() != "\b")
              for block in text.strip().split("\n\n")]
    return "\n\n".join(block for block in blocks if block)


def _summary(text: str | None) -> str:
    return _paragraphs(text).split("\n\n")[0]


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n\n", " ")


def _base_type_name(param) -> str:
    descriptor = getattr(param, "type_descriptor", None)  # Typer's own parameter model (Typer >= 0.2x)
    if descriptor is not None:
        annotation = descriptor.annotation
        if descriptor.is_list:
            annotation = getattr(annotation, "__args__", (str,))[0]
        return getattr(annotation, "__name__", str(annotation))
    return {"text": "str", "integer": "int", "float": "float", "path": "Path", "boolean": "bool"}.get(
        param.type.name.lower(), param.type.name)  # Click's parameter types


def _bounds(param) -> tuple[object, object]:
    holder = param if hasattr(param, "min") else getattr(param, "type", None)
    return getattr(holder, "min", None), getattr(holder, "max", None)


def _type_label(param) -> str:
    name = _base_type_name(param)
    label = _TYPE_NAMES.get(name, name.lower())
    low, high = _bounds(param)
    if low is not None or high is not None:
        label += f" ({'' if low is None else low}..{'' if high is None else high})"
    if param.multiple:
        label += ", repeatable"
    return label


def _is_flag(param) -> bool:
    return bool(getattr(param, "is_flag", False))


def _option_names(param) -> str:
    return " / ".join(f"`{name}`" for name in [*param.opts, *param.secondary_opts])


def _default(param) -> str:
    if param.required:
        return "required"
    show = getattr(param, "show_default", True)
    if show is False:
        return ""
    if isinstance(show, str):
        return show
    default = param.default
    if default is None or (param.multiple and not default):
        return ""
    if _is_flag(param):
        if param.secondary_opts:
            return f"`{param.opts[0] if default else param.secondary_opts[0]}`"
        return "" if not default else "on"
    return f"`{default}`"


def _argument_label(param) -> str:
    label = param.metavar or param.name.upper()
    return label if param.required or label.startswith("[") else f"[{label}]"


def _visible(params) -> list:
    return [p for p in params if not getattr(p, "hidden", False)]


def _options_table(options) -> list[str]:
    if not options:
        return []
    lines = ["| option | value | default | meaning |", "|---|---|---|---|"]
    for p in options:
        value = "" if _is_flag(p) else _type_label(p)
        envvar = f" (env `{p.envvar}`)" if isinstance(p.envvar, str) else ""
        lines.append(f"| {_option_names(p)} | {value} | {_default(p)} | {_cell(_paragraphs(p.help))}{envvar} |")
    return lines + [""]


def _command_section(path: str, command, level: int) -> list[str]:
    params = _visible(command.params)
    arguments = [p for p in params if p.param_type_name == "argument"]
    options = [p for p in params if p.param_type_name == "option"]
    subcommands = ["COMMAND [ARGS]..."] if hasattr(command, "list_commands") else []
    usage = " ".join([path, "[OPTIONS]", *(_argument_label(p) for p in arguments), *subcommands])
    lines = [f"{'#' * level} `{path}`", "", _paragraphs(command.help), "", "```", usage, "```", ""]
    if arguments:
        lines += ["| argument | value | meaning |", "|---|---|---|"]
        lines += [f"| `{_argument_label(p)}` | {_type_label(p)}{'' if p.required else ', optional'} | "
                  f"{_cell(_paragraphs(getattr(p, 'help', None)))} |" for p in arguments]
        lines.append("")
    return lines + _options_table(options)


def _subcommands(group) -> list[tuple[str, object]]:
    ctx = typer.Context(group, info_name=PROGRAM)
    found = [(name, group.get_command(ctx, name)) for name in group.list_commands(ctx)]
    return [(name, command) for name, command in found if command is not None and not command.hidden]


def _walk(path: str, group, level: int) -> tuple[list[str], list[str]]:
    """(index rows, sections) of every command under `group`, sub-apps' commands nested."""
    index, sections = [], []
    for name, command in _subcommands(group):
        full = f"{path} {name}"
        anchor = full.replace(" ", "-")
        index.append(f"| [`{full}`](#{anchor}) | {_cell(_summary(command.help))} |")
        sections += _command_section(full, command, level)
        if hasattr(command, "list_commands"):
            sub_index, sub_sections = _walk(full, command, level + 1)
            index += sub_index
            sections += sub_sections
    return index, sections


def render() -> str:
    root = typer.main.get_command(app)
    index, sections = _walk(PROGRAM, root, 2)
    lines = [
        "# CLI reference",
        "",
        f"Generated from the Typer app (`spark_optimizer/cli/`) by `{REGENERATE}`;",
        "a test fails when this file is stale. `spark-optimizer COMMAND --help` prints the same per command.",
        "",
        _paragraphs(root.help),
        "",
        _paragraphs(cli_package.__doc__).split("\n\n", 1)[1],
        "",
        "| exit code | meaning |",
        "|---|---|",
        *(f"| {code} | {_cell(meaning)} |" for code, meaning in sorted(EXIT_CODES.items())),
        "",
        "```",
        f"{PROGRAM} [OPTIONS] COMMAND [ARGS]...",
        "```",
        "",
        *_options_table(_visible(root.params)),
        "| command | what it does |",
        "|---|---|",
        *index,
        "",
        *sections,
    ]
    return "\n".join(lines).rstrip("\n") + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when docs/cli-reference.md is stale")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        stale = not REFERENCE.exists() or REFERENCE.read_text(encoding="utf-8") != text
        if stale:
            print(f"{REFERENCE} is stale: run `{REGENERATE}`", file=sys.stderr)
        return 1 if stale else 0
    REFERENCE.write_text(text, encoding="utf-8")
    print(f"wrote {REFERENCE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
