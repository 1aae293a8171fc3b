"""A conformance audit of any base URL against the kit's OpenAPI specs.

Boundary cases derived from the request schemas, schemathesis fuzzing, submit -> fetch chains and
webhook checks; verdicts read from the vendor's envelope and judged by re-validating what was sent.
"""

from conformance.config import TIERS, AuditConfig, ConfigError
from conformance.findings import Finding, Observation
from conformance.runner import AuditResult, run_audit

__all__ = ["TIERS", "AuditConfig", "AuditResult", "ConfigError", "Finding", "Observation", "run_audit"]
