# syntax=docker/dockerfile:1
# The mock (default target) and the audit (target `audit`): slim Python, no torch, no weights.
# Build context: the repository root.
#   docker build -f docker/mock.Dockerfile -t mixmock/mock:local .
#   docker build -f docker/mock.Dockerfile --target audit -t mixmock/audit:local .

FROM python:3.11-slim AS base

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore

# A fixed uid, so that volumes and bind mounts can be prepared for it (see docker/README.md).
RUN useradd --create-home --no-log-init --uid 10001 --user-group mixmock \
    && mkdir -p /data /reports \
    && chown mixmock:mixmock /data /reports

WORKDIR /src
COPY pyproject.toml README.md ./
COPY openapi/ openapi/
COPY mock_server/ mock_server/
COPY conformance/ conformance/


# `mixmock audit`: arguments come from the command line, the key from MIXMOCK_AUDIT_KEY, reports go to /reports.
FROM base AS audit

# The local project with an extra: its dependency ranges live in pyproject.toml, not here.
# hadolint ignore=DL3013
RUN pip install --no-cache-dir ".[audit]"

USER 10001:10001
WORKDIR /reports
ENTRYPOINT ["mixmock", "audit"]
CMD ["--help"]


# `mixmock serve` on port 8000; every setting is a MIXMOCK_* variable; jobs live in /data.
FROM base AS mock

RUN pip install --no-cache-dir .

ENV MIXMOCK_PORT=8000 \
    MIXMOCK_STORE=/data/jobs.sqlite3

USER 10001:10001
WORKDIR /data
EXPOSE 8000
# slim images have no curl: the check is Python's urllib, which fails on any non-2xx answer.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --start-interval=1s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('MIXMOCK_PORT', '8000') + '/health', timeout=4)"]
CMD ["mixmock", "serve", "--host", "0.0.0.0"]
