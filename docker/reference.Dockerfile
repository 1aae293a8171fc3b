# syntax=docker/dockerfile:1
# The reference engine: the mock's server computing MagicMix and Image Mixer with diffusers on a CUDA GPU.
# Weights are never baked in nor downloaded: mount a diffusers-format model folder at /models.
# Build context: the repository root.
#   docker build -f docker/reference.Dockerfile -t mixmock/reference:local .

FROM pytorch/pytorch:2.8.0-cuda12.8-cudnn9-runtime

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore

RUN useradd --create-home --no-log-init --uid 10001 --user-group mixmock \
    && mkdir -p /data /models \
    && chown mixmock:mixmock /data

WORKDIR /src
COPY pyproject.toml README.md ./
COPY openapi/ openapi/
COPY mock_server/ mock_server/
COPY conformance/ conformance/

# The local project with an extra: its dependency ranges live in pyproject.toml, not here. The base
# image's CUDA torch satisfies the extra's torch requirement, so pip keeps it.
# hadolint ignore=DL3013
RUN pip install --no-cache-dir ".[reference]"

ENV MIXMOCK_PORT=8000 \
    MIXMOCK_STORE=/data/jobs.sqlite3 \
    MIXMOCK_ENGINE=diffusers \
    MIXMOCK_MODEL_DIR=/models \
    MIXMOCK_DEVICE=cuda \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    HF_HOME=/tmp/huggingface

USER 10001:10001
WORKDIR /data
EXPOSE 8000
# Loading the model takes a while: a long start period, probed often so that readiness shows early.
HEALTHCHECK --interval=15s --timeout=5s --start-period=300s --start-interval=2s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('MIXMOCK_PORT', '8000') + '/health', timeout=4)"]
CMD ["mixmock", "serve", "--host", "0.0.0.0"]
