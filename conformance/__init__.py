"""A conformance audit of any base URL against the kit's OpenAPI specs.

Boundary cases derived from the request schemas, schemathesis fuzzing, submit -> fetch chains, seeds,
images and webhook checks; verdicts read from the vendor's envelope and judged by re-validating what was
sent, each finding with the source of its constraint.
"""

from conformance.client import TargetUnreachableError
from conformance.config import TIERS, AuditConfig, ConfigError
from conformance.findings import CheckRun, Finding, Observation
from conformance.runner import AuditResult, plan_audit, run_audit

__all__ = [
    "TIERS",
    "AuditConfig",
    "AuditResult",
    "CheckRun",
    "ConfigError",
    "Finding",
    "Observation",
    "TargetUnreachableError",
    "plan_audit",
    "run_audit",
]
