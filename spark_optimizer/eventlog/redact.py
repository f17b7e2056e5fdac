"""Secrets out of event-log rows before they reach a table (or a Delta column statistic).

Spark's own rule decides: a property whose name or value matches `spark.redaction.regex` (the
application's own setting when it logged one, else Spark's default) has its value replaced by
Spark's marker. Where a value is a command line or a list of settings (`sun.java.command`,
`spark.driver.extraJavaOptions`) only the matching `key=value` / `--key value` arguments are
masked, so the rest stays readable. Credentials inside URLs (`scheme://user:password@host`) are
masked in every text column. Free text copied from the log (task failure reasons, stage failure
reasons, job results, SQL errors, descriptions) keeps its words but loses the values of the
`name=value`, `name: value` and `--name value` arguments whose name matches the rule.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Sequence

SPARK_DEFAULT_REDACTION_REGEX = r"(?i)secret|password|token|access[.]key"
REDACTED = "*********(redacted)"
# Anchored right after "://" so that long tokens without a URL cost one pass, not a backtrack each.
_URL_CREDENTIALS = re.compile(r"(?<=://)(?P<user>[^\s/:@]*):(?P<password>[^\s/@]+)@")
_WHITESPACE = re.compile(r"(\s+)")
_EQUALS = re.compile("=")
_EQUALS_OR_COLON = re.compile("[=:]")
# Free-text columns of the event-log tables: redacted by `redacted_text`, in dict rows by `redact_row`
# and in the rows kept as tuples (tasks) by `redact_tuple`.
FREE_TEXT_COLUMNS = {
    "tasks": ("failure_reason",),
    "stages": ("failure_reason",),
    "jobs": ("failure_reason", "description"),
    "sql_executions": ("error_message", "description"),
    "executors": ("remove_reason",),
}


@lru_cache(maxsize=32)
def redaction_rule(pattern: str | None) -> re.Pattern:
    """The application's `spark.redaction.regex`, or Spark's default when absent or not a valid regex."""
    if pattern:
        try:
            return re.compile(pattern)
        except re.error:
            pass
    return re.compile(SPARK_DEFAULT_REDACTION_REGEX)


def without_url_credentials(text: str) -> str:
    """`scheme://user:password@host` -> `scheme://user:*********(redacted)@host`."""
    if "@" not in text:
        return text
    return _URL_CREDENTIALS.sub(lambda m: f"{m['user']}:{REDACTED}@", text)


def _masked_arguments(value: str, rule: re.Pattern, separators: re.Pattern, value_follows: bool = False) -> tuple[str, str]:
    """`value` with the `name=value` (`separators` between name and value) and `--name value`
    arguments whose name matches `rule` masked, and the text that stays unmasked (what would still
    show a secret). With `value_follows`, a matching `name:` alone masks the next word."""
    masked, kept = [], []
    mask_next = False
    for token in _WHITESPACE.split(value):
        if not token or token.isspace():
            masked.append(token)
            continue
        if mask_next:
            masked.append(REDACTED)
            mask_next = False
            continue
        separator = separators.search(token)
        name = token[:separator.start()] if separator else token
        if separator and rule.search(name):
            if separator.end() < len(token) or not value_follows:
                masked.append(token[:separator.end()] + REDACTED)
                continue
            # "password: x" masks x; "TokenExpiredException: x" is an exception's class, not a name.
            mask_next = not name.endswith(("Exception", "Error"))
        else:
            mask_next = token.startswith("-") and not separator and bool(rule.search(token))
        masked.append(token)
        if not mask_next:
            kept.append(token)
    return "".join(masked), " ".join(kept)


def redacted_text(text: str, rule: re.Pattern) -> str:
    """Free text with URL credentials and the values of secret-named arguments masked
    (`password=x`, `"fs.s3a.secret.key":"x"`, `token: x`, `--password x`); its words stay, so a
    failure reason still says what failed ("Invalid password" is not a secret)."""
    text = without_url_credentials(text)
    if not rule.search(text):
        return text
    return _masked_arguments(text, rule, _EQUALS_OR_COLON, value_follows=True)[0]


def redacted_property(key: str, value: str, rule: re.Pattern) -> str:
    """Spark's redaction of one property, masking only the secret arguments of command lines."""
    value = without_url_credentials(value)
    if rule.search(key):
        return REDACTED
    if not rule.search(value):
        return value
    masked, kept = _masked_arguments(value, rule, _EQUALS)
    return masked if masked != value and not rule.search(kept) else REDACTED


def free_text_positions(table: str, columns: Sequence[str]) -> tuple[int, ...]:
    """Where `table`'s free-text columns sit in its row tuples of `columns`."""
    return tuple(columns.index(name) for name in FREE_TEXT_COLUMNS.get(table, ()))


def redact_tuple(row: tuple, positions: tuple[int, ...], rule: re.Pattern) -> tuple:
    """A row kept as a tuple (tasks, the bulk of a log) with its free text at `positions` redacted;
    its other columns are ids, hosts and numbers, so they are not scanned as `redact_row` scans a dict row."""
    values = list(row)
    for position in positions:
        if isinstance(values[position], str):
            values[position] = redacted_text(values[position], rule)
    return tuple(values)


def redact_row(table: str, row: dict, rule: re.Pattern) -> None:
    """Redact `row` (of `table`) in place: properties by Spark's rule, URL credentials everywhere."""
    if table == "spark_conf":
        if isinstance(row.get("value"), str) and isinstance(row.get("key"), str):
            row["value"] = redacted_property(row["key"], row["value"], rule)
        return
    for name, value in row.items():
        if isinstance(value, str) and "@" in value:
            row[name] = without_url_credentials(value)
    for name in FREE_TEXT_COLUMNS.get(table, ()):
        if isinstance(row.get(name), str):
            row[name] = redacted_text(row[name], rule)
