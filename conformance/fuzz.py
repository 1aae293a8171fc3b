"""The full tier's generated cases: schemathesis fuzzing, positive and negative, drawn up front.

Schemathesis is used as a generator only. Cases are drawn with a fixed Hypothesis seed, no example
database and no feedback from replies, before anything is sent; so the corpus depends on the spec and
the seed alone, the same for every target, and the budget applies to sending, not to generation.
The key is removed from the schema first: it is never fuzzed, the client injects it. Neither is
`webhook`: the target would POST to whatever host the fuzzer made up, so it is always sent as null.
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import openapi
from conformance.cases import Case
from conformance.config import ConfigError
from openapi.operations import Operation, load_operations

__all__ = ["draw", "fuzz_cases"]

_NOT_FUZZED = ("key", "webhook")


def _without_key(document: Mapping[str, Any]) -> dict[str, Any]:
    stripped = copy.deepcopy(dict(document))
    for schema in stripped.get("components", {}).get("schemas", {}).values():
        properties = schema.get("properties", {})
        if "key" in properties and "key" in schema.get("required", []):
            for name in _NOT_FUZZED:
                properties.pop(name, None)
            schema["required"] = [name for name in schema["required"] if name not in _NOT_FUZZED]
    for item in stripped.get("paths", {}).values():
        for raw in item.values():
            content = raw.get("requestBody", {}).get("content", {}).get("application/json", {})
            content.pop("examples", None)  # the examples phase is the smoke tier's job
    return stripped


def _no_webhook(body: Any) -> Any:
    if isinstance(body, Mapping) and "webhook" in body:
        return {**body, "webhook": None}
    return body


@contextmanager
def _without_local_constants() -> Iterator[None]:
    """Hypothesis mixes literals from the imported project modules into what it draws, so the corpus
    would depend on which modules happen to be loaded (the mock's, in a test). Draw from the seed alone.
    """
    try:
        from hypothesis.internal.conjecture import providers
        from hypothesis.internal.constants_ast import Constants
    except ImportError:  # pragma: no cover - a Hypothesis without local constants
        yield
        return
    original = getattr(providers, "_get_local_constants", None)
    if original is None:  # pragma: no cover
        yield
        return
    empty = Constants()
    providers.CONSTANTS_CACHE.cache.clear()
    providers._get_local_constants = lambda: empty
    try:
        yield
    finally:
        providers._get_local_constants = original
        providers.CONSTANTS_CACHE.cache.clear()


def draw(strategy: Any, count: int, seed: int) -> list[Any]:
    """Up to `count` values of a Hypothesis `strategy`, drawn from `seed` alone: no example database, no
    deadline, no shrinking, and the same values whichever modules are loaded."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as fixed_seed

    drawn: list[Any] = []

    @fixed_seed(seed)
    @settings(
        max_examples=count,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def collect(case: Any) -> None:
        drawn.append(case)

    with _without_local_constants():
        collect()
    return drawn


def _signature(body: Any, path_parameters: Mapping[str, Any]) -> str:
    return json.dumps([repr(body), dict(path_parameters)], sort_keys=True, default=repr)


def fuzz_cases(operations: list[Operation], per_operation: int, seed: int) -> list[Case]:
    """`per_operation` positive and as many negative cases per operation, distinct, in a stable order.

    Drawn once per process for the same operations, count and seed (a run plans, then sends).
    """
    chosen = tuple((operation.spec, operation.operation_id) for operation in operations)
    return list(_drawn(chosen, per_operation, seed))


@functools.lru_cache(maxsize=8)
def _drawn(chosen: tuple[tuple[str, str], ...], per_operation: int, seed: int) -> tuple[Case, ...]:
    every = {(operation.spec, operation.operation_id): operation for operation in load_operations()}
    operations = [every[item] for item in chosen]
    try:
        import schemathesis
        from schemathesis import GenerationMode
    except ImportError:
        raise ConfigError(
            "the full tier needs schemathesis (pip install '.[audit]' in a clone of mixmock)"
        ) from None

    by_spec: dict[str, Any] = {}
    cases: list[Case] = []
    for operation in operations:
        if operation.spec not in by_spec:
            by_spec[operation.spec] = schemathesis.openapi.from_dict(
                _without_key(openapi.load_spec(operation.spec))
            )
        generated = by_spec[operation.spec][operation.path][operation.method]
        modes = [GenerationMode.POSITIVE] + ([GenerationMode.NEGATIVE] if operation.kind == "create" else [])
        seen: set[str] = set()
        for mode in modes:
            for drawn in draw(generated.as_strategy(generation_mode=mode), per_operation, seed):
                body = (
                    drawn.body if isinstance(drawn.body, Mapping | list | bytes | str | int | float) else None
                )
                params = {name: str(value) for name, value in (drawn.path_parameters or {}).items()}
                signature = _signature(body, params)
                if signature in seen:
                    continue
                seen.add(signature)
                label = f"{mode.value} fuzz"
                cases.append(Case(operation, "full", "(body)", label, body, body, path_parameters=params))
    return tuple(cases)
