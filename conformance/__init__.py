"""A schemathesis-based conformance audit of any base URL against the kit's OpenAPI specs."""
