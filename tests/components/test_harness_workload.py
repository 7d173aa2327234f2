"""HarnessWorkload: the signed harness runs by digest, unprivileged, with only its env and two secrets."""

from __future__ import annotations

from typing import Any

import pytest

from components.harness_workload import (
    HarnessWorkload,
    HarnessWorkloadArgs,
    harness_env,
    harness_pod_spec,
    ingress_spec,
    service_spec,
)

COMPONENT = "gke-sandbox:harness_workload:HarnessWorkload"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
SERVICE = "kubernetes:core/v1:Service"
INGRESS = "kubernetes:networking.k8s.io/v1:Ingress"
SECRET = "kubernetes:core/v1:Secret"
FRONTEND = "kubernetes:networking.gke.io/v1beta1:FrontendConfig"
IMAGE = "us-central1-docker.pkg.dev/b-demo-harness/harness/harness@sha256:" + "79" * 32
MODEL_URI = "gs://a-demo-model-sealed/sentiment-model.tar.sealed"
KMS_URI = (
    "gcp-kms://projects/a-demo-model/locations/us-central1/keyRings/model-ring/cryptoKeys/model-key"
)
SHA = "5f" * 32


def workload_args(**overrides: Any) -> HarnessWorkloadArgs:
    base: dict[str, Any] = {
        "namespace": "ns1",
        "service_account": "tee-sa",
        "image": IMAGE,
        "host": "llama.example.com",
        "model_uri": MODEL_URI,
        "kms_key_uri": KMS_URI,
        "model_sha256": SHA,
    }
    return HarnessWorkloadArgs(**{**base, **overrides})


def pod_spec(plan: Any) -> tuple[Any, dict[str, Any]]:
    deployment = plan.one(DEPLOYMENT)
    return deployment, deployment.inputs["spec"]["template"]["spec"]


def test_single_container_runs_the_image_by_digest_without_overrides(run):
    plan = run(lambda: HarnessWorkload("harness", workload_args()))
    deployment, spec = pod_spec(plan)
    (container,) = spec["containers"]
    assert container["image"] == IMAGE, deployment.urn
    assert "command" not in container and "args" not in container, deployment.urn
    for extra in ("initContainers", "ephemeralContainers", "shareProcessNamespace"):
        assert extra not in spec, deployment.urn
    for host in ("hostNetwork", "hostPID", "hostIPC"):
        assert not spec.get(host), deployment.urn
    assert spec["serviceAccountName"] == "tee-sa", deployment.urn
    assert deployment.inputs["metadata"]["namespace"] == "ns1", deployment.urn


def test_pod_and_container_are_unprivileged(run):
    plan = run(lambda: HarnessWorkload("harness", workload_args()))
    deployment, spec = pod_spec(plan)
    pod_ctx = spec["securityContext"]
    assert pod_ctx["runAsNonRoot"] is True, deployment.urn
    assert pod_ctx["runAsUser"] == 65532, deployment.urn
    assert pod_ctx["runAsGroup"] == 65532, deployment.urn
    assert pod_ctx["seccompProfile"] == {"type": "RuntimeDefault"}, deployment.urn
    ctx = spec["containers"][0]["securityContext"]
    assert ctx["runAsNonRoot"] is True, deployment.urn
    assert ctx["readOnlyRootFilesystem"] is True, deployment.urn
    assert ctx["allowPrivilegeEscalation"] is False, deployment.urn
    assert ctx["privileged"] is False, deployment.urn
    assert ctx["capabilities"] == {"drop": ["ALL"]}, deployment.urn
    assert ctx["seccompProfile"] == {"type": "RuntimeDefault"}, deployment.urn
    assert spec["automountServiceAccountToken"] is False, deployment.urn
    assert spec["enableServiceLinks"] is False, deployment.urn


def test_env_is_exactly_the_harness_variables(run):
    plan = run(lambda: HarnessWorkload("harness", workload_args()))
    deployment, spec = pod_spec(plan)
    env = {e["name"]: e["value"] for e in spec["containers"][0]["env"]}
    assert env == {
        "MODEL_URI": MODEL_URI,
        "KMS_KEY_URI": KMS_URI,
        "MODEL_SHA256": SHA,
        "HARNESS_PORT": "8443",
        "HARNESS_TLS_DIR": "/etc/harness/tls",
        "HARNESS_TOKEN_FILE": "/etc/harness/token/token",
        "HARNESS_RATE_LIMIT": "100",
        "HARNESS_TRUSTED_PROXIES": (
            "35.191.0.0/16,130.211.0.0/22,2600:2d00:1:b029::/64,2600:2d00:1:1::/64"
        ),
        "HARNESS_WORKERS": "1",
    }, deployment.urn
    assert "envFrom" not in spec["containers"][0], deployment.urn


def test_no_model_digest_means_no_model_sha_variable(run):
    plan = run(lambda: HarnessWorkload("harness", workload_args(model_sha256=None)))
    deployment, spec = pod_spec(plan)
    names = {e["name"] for e in spec["containers"][0]["env"]}
    assert "MODEL_SHA256" not in names, deployment.urn


def test_exactly_two_secret_volumes_mounted_read_only(run):
    plan = run(lambda: HarnessWorkload("harness", workload_args()))
    deployment, spec = pod_spec(plan)
    assert spec["volumes"] == [
        {"name": "tls", "secret": {"secretName": "harness-tls", "defaultMode": 0o440}},
        {"name": "token", "secret": {"secretName": "harness-token", "defaultMode": 0o440}},
    ], deployment.urn
    mounts = spec["containers"][0]["volumeMounts"]
    assert sorted(m["name"] for m in mounts) == ["tls", "token"], deployment.urn
    assert all(m["readOnly"] is True for m in mounts), deployment.urn


def test_service_is_cluster_ip_only(run):
    plan = run(lambda: HarnessWorkload("harness", workload_args()))
    service = plan.one(SERVICE)
    assert service.inputs["spec"]["type"] == "ClusterIP", service.urn
    assert service.inputs["spec"]["ports"] == [
        {"name": "https", "port": 443, "targetPort": 8443}
    ], service.urn
    assert service.inputs["metadata"]["annotations"]["cloud.google.com/app-protocols"] == (
        '{"https": "HTTPS"}'
    ), service.urn


def test_ingress_is_https_only(run):
    plan = run(lambda: HarnessWorkload("harness", workload_args(ssl_policy="modern-tls")))
    ingress = plan.one(INGRESS)
    annotations = ingress.inputs["metadata"]["annotations"]
    assert annotations["kubernetes.io/ingress.allow-http"] == "false", ingress.urn
    assert annotations["networking.gke.io/v1beta1.FrontendConfig"] == "harness", ingress.urn
    assert ingress.inputs["spec"]["tls"] == [
        {"hosts": ["llama.example.com"], "secretName": "harness-tls"}
    ], ingress.urn
    (rule,) = ingress.inputs["spec"]["rules"]
    assert rule["host"] == "llama.example.com", ingress.urn
    frontend = plan.one(FRONTEND)
    assert frontend.inputs["spec"] == {
        "redirectToHttps": {"enabled": True},
        "sslPolicy": "modern-tls",
    }, frontend.urn


def test_token_and_tls_secrets_hold_only_secret_data(run):
    plan = run(lambda: HarnessWorkload("harness", workload_args()))
    secrets = {s.inputs["metadata"]["name"]: s for s in plan.of_type(SECRET)}
    assert sorted(secrets) == ["harness-tls", "harness-token"], sorted(secrets)
    token = secrets["harness-token"]
    assert token.inputs["stringData"] == {"token": "[secret]"}, token.urn
    tls = secrets["harness-tls"]
    assert tls.inputs["type"] == "kubernetes.io/tls", tls.urn
    assert tls.inputs["stringData"] == {"tls.crt": "[secret]", "tls.key": "[secret]"}, tls.urn
    for secret in secrets.values():
        assert "data" not in secret.inputs, secret.urn


def test_given_secrets_replace_the_generated_ones(run):
    args = workload_args(token="t0ken", tls_certificate="CERT", tls_private_key="KEY")
    plan = run(lambda: HarnessWorkload("harness", args))
    for generated in (
        "random:index/randomPassword:RandomPassword",
        "tls:index/privateKey:PrivateKey",
        "tls:index/selfSignedCert:SelfSignedCert",
    ):
        assert plan.of_type(generated) == [], generated
    for secret in plan.of_type(SECRET):
        assert all(v == "[secret]" for v in secret.inputs["stringData"].values()), secret.urn


def test_deployment_waits_for_its_secrets(run, registrations):
    plan = run(lambda: HarnessWorkload("harness", workload_args()))
    deployment = plan.one(DEPLOYMENT)
    needed = {s.urn for s in plan.of_type(SECRET)}
    assert needed <= registrations.dependencies[deployment.urn], deployment.urn


def test_registered_outputs_keep_the_token_secret(run, registrations):
    plan = run(lambda: HarnessWorkload("harness", workload_args()))
    component = plan.one(COMPONENT)
    outputs = registrations.outputs[component.urn]
    assert outputs["url"] == "https://llama.example.com", component.urn
    assert outputs["token"] == "[secret]", component.urn
    assert outputs["certificate"].startswith("-----BEGIN CERTIFICATE-----"), component.urn


@pytest.mark.parametrize(
    "image",
    [
        "us-central1-docker.pkg.dev/b-demo-harness/harness/harness:latest",
        "us-central1-docker.pkg.dev/b-demo-harness/harness/harness@sha256:abc",
        "harness@sha256:" + "79" * 32,
    ],
)
def test_image_not_by_digest_is_refused(image):
    with pytest.raises(ValueError, match="must be pinned by digest"):
        HarnessWorkload("harness", workload_args(image=image))


def test_certificate_without_key_is_refused():
    with pytest.raises(ValueError, match="tls_certificate and tls_private_key go together"):
        HarnessWorkload("harness", workload_args(tls_certificate="CERT"))


def test_key_without_certificate_is_refused():
    with pytest.raises(ValueError, match="tls_certificate and tls_private_key go together"):
        HarnessWorkload("harness", workload_args(tls_private_key="KEY"))


@pytest.mark.parametrize("limit", [0, 100_001])
def test_rate_limit_out_of_range_is_refused(limit):
    with pytest.raises(ValueError, match=r"rate_limit_per_minute must be 1\.\.100000"):
        HarnessWorkload("harness", workload_args(rate_limit_per_minute=limit))


# --------------------------------------------------------------------------- pure builders, no mocks


def test_pod_spec_is_unprivileged_read_only_and_mounts_no_token():
    spec = harness_pod_spec(workload_args())
    assert spec["automountServiceAccountToken"] is False
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["runAsUser"] == 65532
    (container,) = spec["containers"]
    ctx = container["securityContext"]
    assert ctx["readOnlyRootFilesystem"] is True
    assert ctx["runAsNonRoot"] is True
    assert ctx["allowPrivilegeEscalation"] is False
    assert ctx["capabilities"] == {"drop": ["ALL"]}
    assert [v["name"] for v in spec["volumes"]] == ["tls", "token"]
    assert {m["mountPath"] for m in container["volumeMounts"]} == {
        "/etc/harness/tls",
        "/etc/harness/token",
    }


def test_pod_spec_probes_the_image_on_its_health_paths_over_tls():
    (container,) = harness_pod_spec(workload_args())["containers"]
    assert container["ports"] == [{"name": "https", "containerPort": 8443}]
    probes = {
        kind: (c["httpGet"]["path"], c["httpGet"]["port"], c["httpGet"]["scheme"])
        for kind, c in container.items()
        if kind.endswith("Probe")
    }
    assert probes == {
        "startupProbe": ("/readyz", 8443, "HTTPS"),
        "readinessProbe": ("/readyz", 8443, "HTTPS"),
        "livenessProbe": ("/healthz", 8443, "HTTPS"),
    }
    # Ten minutes to decrypt and load before the kubelet gives up on the pod.
    startup = container["startupProbe"]
    assert startup["periodSeconds"] * startup["failureThreshold"] == 600


def test_pod_spec_sizes_the_container_as_asked():
    (container,) = harness_pod_spec(workload_args(cpu="2", memory="6Gi"))["containers"]
    assert container["resources"] == {
        "requests": {"cpu": "2", "memory": "6Gi"},
        "limits": {"cpu": "2", "memory": "6Gi"},
    }


def test_env_carries_the_rate_limit_and_optional_digest():
    env = {e["name"]: e["value"] for e in harness_env(workload_args(rate_limit_per_minute=7))}
    assert env["HARNESS_RATE_LIMIT"] == "7"
    assert env["MODEL_SHA256"] == SHA
    plain = {e["name"] for e in harness_env(workload_args(model_sha256=""))}
    assert "MODEL_SHA256" not in plain


def test_service_targets_the_harness_port_by_label():
    assert service_spec() == {
        "type": "ClusterIP",
        "selector": {
            "app.kubernetes.io/name": "harness",
            "app.kubernetes.io/part-of": "gke-sandbox",
        },
        "ports": [{"name": "https", "port": 443, "targetPort": 8443}],
    }


def test_ingress_sends_every_path_of_the_host_to_the_service():
    spec = ingress_spec(workload_args(host="h.example.org"))
    assert spec["tls"] == [{"hosts": ["h.example.org"], "secretName": "harness-tls"}]
    (rule,) = spec["rules"]
    assert rule == {
        "host": "h.example.org",
        "http": {
            "paths": [
                {
                    "path": "/",
                    "pathType": "Prefix",
                    "backend": {"service": {"name": "harness", "port": {"number": 443}}},
                }
            ]
        },
    }


def test_env_names_are_what_the_admission_allowlist_admits():
    """The Gatekeeper env allowlist is built from contract.DEPLOYED_ENV: a name the workload
    sets outside it would be refused at admission."""
    from harness.contract import DEPLOYED_ENV

    assert {e["name"] for e in harness_env(workload_args())} == set(DEPLOYED_ENV)
