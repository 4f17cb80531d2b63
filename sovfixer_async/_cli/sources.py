"""One datasource's configuration as text: ``pretty`` (a few lines) or ``markdown`` (as
``pingdataapi get-datasource --format markdown`` renders it). Every server value passes
through :func:`~sovfixer_async._cli.text.printable`."""

from __future__ import annotations

from typing import Any

from sovfixer_async._cli.text import printable
from sovfixer_async.models import DatasourceConfig

#: ``datasources CODE --format``: the official CLI's choices (``--json`` is ours).
FORMATS = ("pretty", "markdown", "json")


def _names(values: list[str] | None) -> str:
    return ", ".join(printable(v, 60) for v in values or []) or "none"


def describe_source(config: DatasourceConfig) -> str:
    """A datasource in a few lines (the official ``get-datasource --format pretty``, short)."""
    name = printable(config.source_name or config.source_code or "datasource")
    lines = [f"{name} ({printable(config.source_code or '-')})"]
    lines.append(f"  requires credentials: {'yes' if config.requires_credentials else 'no'}")
    lines.append(f"  required inputs: {_names(config.required_attrs)}")
    lines.append(f"  optional inputs: {_names(config.optional_attrs)}")
    for title, values in (
        ("countries", config.supported_countries),
        ("US states", config.supported_us_states),
        ("excluded US states", config.excluded_us_states),
    ):
        if values:
            lines.append(f"  {title}: {_names(values)}")
    for title, fields in (("output", config.output_fields), ("base", config.base_output_fields)):
        if fields:
            lines.append(f"  {title} fields: {_names(list(fields))}")
    return "\n".join(lines)


def _cell(value: Any) -> str:
    return printable(value if value is not None else "", 300).replace("|", "\\|")


def markdown_source(config: DatasourceConfig) -> str:
    """The configuration as Markdown: a heading, bullets, and a table per field group."""
    name = printable(config.source_name or config.source_code or "Datasource")
    code = printable(config.source_code or "")
    lines = [f"# {name} ({code})" if code else f"# {name}", ""]
    lines.append(f"- **Source code:** {code or 'None'}")
    lines.append(f"- **Requires credentials:** {'Yes' if config.requires_credentials else 'No'}")
    lines.append(f"- **Geocode confidence required:** {config.geocode_confidence_required}")
    lines.append(f"- **Geocode precision required:** {config.geocode_precision_required}")
    lines += ["", "## Input attributes", ""]
    lines.append(f"- **Required:** {_names(config.required_attrs)}")
    lines.append(f"- **Optional:** {_names(config.optional_attrs)}")
    regions = [
        ("Countries", config.supported_countries),
        ("US states", config.supported_us_states),
        ("Excluded US states", config.excluded_us_states),
    ]
    if any(values for _, values in regions):
        lines += ["", "## Supported regions", ""]
        lines += [f"- **{title}:** {_names(values)}" for title, values in regions if values]
    for title, fields in (
        ("Output fields", config.output_fields),
        ("Base output fields", config.base_output_fields),
    ):
        if not fields:
            continue
        lines += ["", f"## {title}", "", "| Field | Type | Description |", "| --- | --- | --- |"]
        for field, info in fields.items():
            meta = info if isinstance(info, dict) else {}
            lines.append(
                f"| {_cell(field)} | {_cell(meta.get('type'))} | {_cell(meta.get('description'))} |"
            )
    return "\n".join(lines)
