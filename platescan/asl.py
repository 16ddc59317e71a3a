"""Rendering the state machine definition.

The ASL file carries `${PascalCase}` placeholders for the ARNs that differ per deployment.
Deployment (Pulumi) and the local runtime both render it here, so they run the same graph.
`string.Template` is not used: it would also rewrite `$$.Execution.Id` and JSONPath `$`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFINITION_PATH = REPO_ROOT / "statemachine" / "plate_pipeline.asl.json"

_PLACEHOLDER = re.compile(r"\$\{([A-Za-z][A-Za-z0-9]*)\}")


def load_template(path: Path = DEFINITION_PATH) -> str:
    """Return the ASL template text."""
    return path.read_text(encoding="utf-8")


def placeholders(template: str) -> set[str]:
    """Names of the `${Name}` placeholders a template uses."""
    return set(_PLACEHOLDER.findall(template))


def render_definition(template: str, values: Mapping[str, str]) -> str:
    """Fill every placeholder; refuse unknown names and placeholders left without a value.

    Values are inserted as JSON string content, so an ARN cannot break the document.
    """
    used = placeholders(template)
    unknown = set(values) - used
    if unknown:
        raise ValueError(f"values for unknown placeholders: {sorted(unknown)}")
    missing = used - set(values)
    if missing:
        raise ValueError(f"placeholders without a value: {sorted(missing)}")

    def fill(match: re.Match[str]) -> str:
        return json.dumps(str(values[match.group(1)]))[1:-1]

    rendered = _PLACEHOLDER.sub(fill, template)
    json.loads(rendered)  # the result must still be one JSON document
    return rendered
