"""deploy/: the Kubernetes manifests, validated against the Kubernetes schemas and against the mock."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
import yaml

from mock_server.settings import ENV_PREFIX, Settings, load_settings
from tests.docker.images import IMAGES, REPO_ROOT

pytestmark = pytest.mark.unit

DEPLOY = REPO_ROOT / "deploy"
KUBERNETES_VERSION = "1.30.0"  # the oldest release still supported upstream when these were written
SETTING_VARIABLES = {ENV_PREFIX + field.name.upper() for field in dataclasses.fields(Settings)}
MANIFESTS = sorted(path for path in DEPLOY.glob("*.yaml") if path.name != "kustomization.yaml")


def documents(path: Path) -> list[dict[str, Any]]:
    return [document for document in yaml.safe_load_all(path.read_text(encoding="utf-8")) if document]


RESOURCES = {(doc["kind"], doc["metadata"]["name"]): doc for path in MANIFESTS for doc in documents(path)}


def container(kind: str, name: str) -> dict[str, Any]:
    (found,) = RESOURCES[(kind, name)]["spec"]["template"]["spec"]["containers"]
    result: dict[str, Any] = found
    return result


def environment(kind: str, name: str) -> dict[str, str]:
    """The container's MIXMOCK_* values: the ConfigMap it reads, then its own env (which wins)."""
    spec = container(kind, name)
    merged: dict[str, str] = {}
    for source in spec.get("envFrom", []):
        merged.update(RESOURCES[("ConfigMap", source["configMapRef"]["name"])]["data"])
    merged.update({item["name"]: item["value"] for item in spec.get("env", [])})
    return merged


@pytest.mark.parametrize("path", MANIFESTS, ids=[path.name for path in MANIFESTS])
def test_every_resource_validates_against_the_kubernetes_schema(path: Path) -> None:
    kubernetes_validate = pytest.importorskip(
        "kubernetes_validate", reason="kubernetes-validate is not installed (pip install '.[test]')"
    )
    for document in documents(path):
        kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)  # raises naming the field


def test_the_kustomization_lists_every_manifest() -> None:
    (kustomization,) = documents(DEPLOY / "kustomization.yaml")
    assert sorted(kustomization["resources"]) == [path.name for path in MANIFESTS]


def test_a_schema_error_is_caught() -> None:
    kubernetes_validate = pytest.importorskip(
        "kubernetes_validate", reason="kubernetes-validate is not installed"
    )
    broken = {**RESOURCES[("Service", "mixmock")], "spec": {"ports": [{"port": "eighty"}]}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)


def test_api_replicas_are_ready_only_while_the_store_answers() -> None:
    spec = container("Deployment", "mixmock")
    port = {item["name"]: item["containerPort"] for item in spec["ports"]}["http"]
    assert spec["readinessProbe"]["httpGet"] == {"path": "/ready", "port": "http"}
    assert spec["livenessProbe"]["httpGet"]["path"] == "/health"
    env = environment("Deployment", "mixmock")
    assert int(env["MIXMOCK_PORT"]) == port
    assert env["MIXMOCK_STORE"].startswith("redis://")
    assert RESOURCES[("Deployment", "mixmock")]["spec"]["replicas"] > 1
    assert RESOURCES[("Service", "mixmock")]["spec"]["ports"][0]["targetPort"] == "http"


def test_the_store_url_names_the_redis_service() -> None:
    url = environment("Deployment", "mixmock")["MIXMOCK_STORE"]
    host, port = url.removeprefix("redis://").split("/", 1)[0].split(":")
    service = RESOURCES[("Service", host)]
    assert int(port) in {item["port"] for item in service["spec"]["ports"]}


def test_workers_request_a_gpu_and_render_with_diffusers() -> None:
    spec = container("Deployment", "mixmock-worker")
    assert spec["command"] == ["mixmock", "worker"]
    assert spec["resources"]["limits"]["nvidia.com/gpu"] == 1
    env = environment("Deployment", "mixmock-worker")
    assert (env["MIXMOCK_ENGINE"], env["MIXMOCK_DEVICE"]) == ("diffusers", "cuda:0")
    mounts = {mount["mountPath"]: mount for mount in spec["volumeMounts"]}
    assert mounts[env["MIXMOCK_MODEL_DIR"]]["readOnly"] is True
    assert env["MIXMOCK_STORE"] == environment("Deployment", "mixmock")["MIXMOCK_STORE"]


@pytest.mark.parametrize(
    ("kind", "name"), [("Deployment", "mixmock"), ("Deployment", "mixmock-worker")], ids=["api", "worker"]
)
def test_pods_set_only_settings_the_mock_reads_and_run_as_the_images_user(kind: str, name: str) -> None:
    assert set(environment(kind, name)) <= SETTING_VARIABLES
    pod = RESOURCES[(kind, name)]["spec"]["template"]["spec"]
    image_users = {user.arguments for image in IMAGES if (user := image.last("USER")) is not None}
    assert f"{pod['securityContext']['runAsUser']}:{pod['securityContext']['runAsGroup']}" in image_users
    load_settings(environ=environment(kind, name))  # every value usable: SettingsError names one that is not
