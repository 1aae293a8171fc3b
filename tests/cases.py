"""Case tables kept as YAML next to their test: a list of rows, each an `id` and the test's arguments."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml


def case_table(path: Path, **columns: type) -> list[pytest.ParameterSet]:
    """The rows of the YAML file at `path` as pytest params, their values in the order of `columns`.

    Each row must be a mapping of `id` (a string, used once in the file) and exactly `columns`, each value
    of its column's type; anything else is a ValueError naming the file and the row, so a malformed table
    fails collection instead of silently losing a case.
    """
    rows: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(rows, list) or not rows:
        raise ValueError(f"{path.name}: expected a non-empty list of rows, got {rows!r}")
    wanted = {"id": str, **columns}
    seen: set[str] = set()
    params = []
    for row in rows:
        if not isinstance(row, dict) or set(row) != set(wanted):
            raise ValueError(f"{path.name}: each row has exactly the keys {sorted(wanted)}, got {row!r}")
        for name, kind in wanted.items():
            if not isinstance(row[name], kind):
                raise ValueError(f"{path.name}: {name!r} must be a {kind.__name__} in row {row!r}")
        if row["id"] in seen:
            raise ValueError(f"{path.name}: the id {row['id']!r} is used twice")
        seen.add(row["id"])
        params.append(pytest.param(*(row[name] for name in columns), id=row["id"]))
    return params
