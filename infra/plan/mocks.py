"""Mock cloud answers for the offline plan and the tests.

Every resource echoes its inputs and adds the outputs the real provider would compute,
in camelCase and in the real formats (service account emails, KMS key ids, folder
names, cluster endpoints), so that wiring between components is exercised for real.
Numbers (project numbers, folder ids) are derived from names, so plans are stable.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from typing import Any

import pulumi

# Documentation address (RFC 5737) and a syntactically valid, obviously fake certificate.
MOCK_ENDPOINT = "203.0.113.10"
# The cluster's DNS-based control-plane endpoint, shaped like GKE's `<uid>.<location>.gke.goog`.
MOCK_DNS_ENDPOINT = "gke-0123456789abcdef0123456789abcdef-123456789012.us-central1-a.gke.goog"
MOCK_CA_PEM = (
    "-----BEGIN CERTIFICATE-----\n"
    "TU9DSyBDTFVTVEVSIENBIC0gb2ZmbGluZSBwbGFuIG9ubHk=\n"
    "-----END CERTIFICATE-----\n"
)
MOCK_PUBLIC_KEY_PEM = (
    "-----BEGIN PUBLIC KEY-----\n"
    "TU9DSyBQVUJMSUMgS0VZIC0gb2ZmbGluZSBwbGFuIG9ubHk=\n"
    "-----END PUBLIC KEY-----\n"
)
DEFAULT_PROJECT = "mock-project"
# What a reserved global address resolves to (RFC 5737 documentation range).
MOCK_GLOBAL_ADDRESS = "203.0.113.7"


def stable_number(seed: str, digits: int = 12) -> str:
    """A deterministic decimal id (project numbers, folder ids) derived from a name."""
    value = int(hashlib.sha256(seed.encode()).hexdigest(), 16)
    return str(10 ** (digits - 1) + value % (9 * 10 ** (digits - 1)))


class CloudMocks(pulumi.runtime.Mocks):
    """Answers `new_resource`/`call` like GCP and Kubernetes would, for the program's types."""

    def __init__(self, stack_outputs: Mapping[str, Mapping[str, Any]] | None = None) -> None:
        # Outputs served to StackReferences, keyed by the referenced stack's name.
        self.stack_outputs = {k: dict(v) for k, v in (stack_outputs or {}).items()}

    # -- resources -----------------------------------------------------------------
    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict]:
        inputs = dict(args.inputs)
        handler = _RESOURCE_STATE.get(args.typ)
        if handler is not None:
            return handler(self, args.name, inputs)
        if args.typ == "pulumi:pulumi:StackReference":
            return self._stack_reference(inputs)
        return f"{args.name}-id", inputs

    def _stack_reference(self, inputs: dict[str, Any]) -> tuple[str, dict]:
        name = str(inputs.get("name", ""))
        # "org/project/stack" or a bare stack name: the offline plan keys outputs by stack.
        outputs = self.stack_outputs.get(name) or self.stack_outputs.get(
            name.rsplit("/", 1)[-1], {}
        )
        return name, {"name": name, "outputs": dict(outputs), "secretOutputNames": []}

    # -- invokes ---------------------------------------------------------------------
    def call(self, args: pulumi.runtime.MockCallArgs) -> dict:
        if args.token == "gcp:kms/getKMSCryptoKeyVersion:getKMSCryptoKeyVersion":
            key = str(args.args.get("cryptoKey", ""))
            version = int(args.args.get("version", 1) or 1)
            return {
                "id": f"{key}/cryptoKeyVersions/{version}",
                "name": f"{key}/cryptoKeyVersions/{version}",
                "cryptoKey": key,
                "version": version,
                "algorithm": "EC_SIGN_P256_SHA256",
                "protectionLevel": "SOFTWARE",
                "state": "ENABLED",
                "publicKeys": [{"algorithm": "EC_SIGN_P256_SHA256", "pem": MOCK_PUBLIC_KEY_PEM}],
            }
        return {}


def _project(inputs: Mapping[str, Any]) -> str:
    return str(inputs.get("project") or DEFAULT_PROJECT)


def _key_ring(_: CloudMocks, name: str, inputs: dict) -> tuple[str, dict]:
    ring = f"projects/{_project(inputs)}/locations/{inputs.get('location')}/keyRings/{inputs.get('name', name)}"
    return ring, {**inputs, "id": ring}


def _crypto_key(_: CloudMocks, name: str, inputs: dict) -> tuple[str, dict]:
    key = f"{inputs.get('keyRing')}/cryptoKeys/{inputs.get('name', name)}"
    return key, {**inputs, "id": key, "primaries": [{"name": f"{key}/cryptoKeyVersions/1"}]}


def _account(_: CloudMocks, name: str, inputs: dict) -> tuple[str, dict]:
    project = _project(inputs)
    email = f"{inputs.get('accountId', name)}@{project}.iam.gserviceaccount.com"
    resource = f"projects/{project}/serviceAccounts/{email}"
    return resource, {
        **inputs,
        "email": email,
        "name": resource,
        "member": f"serviceAccount:{email}",
        "uniqueId": stable_number(email, 21),
    }


def _bucket(_: CloudMocks, name: str, inputs: dict) -> tuple[str, dict]:
    bucket = str(inputs.get("name", name))
    return bucket, {
        **inputs,
        "url": f"gs://{bucket}",
        "selfLink": f"https://www.googleapis.com/storage/v1/b/{bucket}",
    }


def _bucket_object(_: CloudMocks, name: str, inputs: dict) -> tuple[str, dict]:
    bucket, obj = inputs.get("bucket"), inputs.get("name", name)
    return f"{bucket}-{obj}", {
        **inputs,
        "outputName": obj,
        "generation": int(stable_number(f"{bucket}/{obj}", 16)),
        "selfLink": f"https://www.googleapis.com/storage/v1/b/{bucket}/o/{obj}",
        "mediaLink": f"https://storage.googleapis.com/download/storage/v1/b/{bucket}/o/{obj}",
    }


def _folder(_: CloudMocks, name: str, inputs: dict) -> tuple[str, dict]:
    folder_id = stable_number(f"{inputs.get('parent')}/{inputs.get('displayName', name)}")
    return f"folders/{folder_id}", {**inputs, "folderId": folder_id, "name": f"folders/{folder_id}"}


def _project_resource(_: CloudMocks, name: str, inputs: dict) -> tuple[str, dict]:
    project_id = str(inputs.get("projectId", name))
    return f"projects/{project_id}", {
        **inputs,
        "number": stable_number(project_id),
        "projectId": project_id,
    }


def _with_dns_endpoint(config: Any) -> Any:
    """GKE fills in the DNS endpoint's FQDN when the DNS endpoint is configured."""
    if not isinstance(config, Mapping) or not isinstance(config.get("dnsEndpointConfig"), Mapping):
        return config
    dns = {**config["dnsEndpointConfig"], "endpoint": MOCK_DNS_ENDPOINT}
    return {**config, "dnsEndpointConfig": dns}


def _global_address(_: CloudMocks, name: str, inputs: dict) -> tuple[str, dict]:
    project = _project(inputs)
    address_name = inputs.get("name", name)
    state = {**inputs, "address": MOCK_GLOBAL_ADDRESS, "name": address_name}
    return f"projects/{project}/global/addresses/{address_name}", state


def _cluster(_: CloudMocks, name: str, inputs: dict) -> tuple[str, dict]:
    cluster = f"projects/{_project(inputs)}/locations/{inputs.get('location')}/clusters/{inputs.get('name', name)}"
    return cluster, {
        **inputs,
        "endpoint": MOCK_ENDPOINT,
        "controlPlaneEndpointsConfig": _with_dns_endpoint(
            inputs.get("controlPlaneEndpointsConfig")
        ),
        "masterAuth": {
            **(inputs.get("masterAuth") or {}),
            "clusterCaCertificate": base64.b64encode(MOCK_CA_PEM.encode()).decode(),
        },
        "selfLink": f"https://container.googleapis.com/v1/{cluster}",
    }


def _path_named(template: str):
    """Resources whose id is a path built from their project/location/name inputs."""

    def handler(_: CloudMocks, name: str, inputs: dict) -> tuple[str, dict]:
        path = template.format(
            project=_project(inputs),
            location=inputs.get("location"),
            name=inputs.get("name", name),
            repositoryId=inputs.get("repositoryId", name),
        )
        return path, {**inputs}

    return handler


def _random_password(_: CloudMocks, name: str, inputs: dict) -> tuple[str, dict]:
    length = int(inputs.get("length", 32))
    fake = hashlib.sha256(name.encode()).hexdigest()
    return f"{name}-id", {**inputs, "result": (fake * 4)[:length]}


def _private_key(_: CloudMocks, name: str, inputs: dict) -> tuple[str, dict]:
    return f"{name}-id", {
        **inputs,
        "privateKeyPem": "-----BEGIN PRIVATE KEY-----\nTU9DSw==\n-----END PRIVATE KEY-----\n",
        "publicKeyPem": MOCK_PUBLIC_KEY_PEM,
    }


def _self_signed_cert(_: CloudMocks, name: str, inputs: dict) -> tuple[str, dict]:
    return f"{name}-id", {**inputs, "certPem": MOCK_CA_PEM}


def _secret_ciphertext(_: CloudMocks, name: str, inputs: dict) -> tuple[str, dict]:
    """KMS ciphertext: base64 bytes that do not contain the plaintext."""
    fake = hashlib.sha256(f"ciphertext:{name}".encode()).digest()
    return f"{name}-id", {**inputs, "ciphertext": base64.b64encode(fake * 2).decode()}


_RESOURCE_STATE = {
    "gcp:kms/keyRing:KeyRing": _key_ring,
    "gcp:kms/cryptoKey:CryptoKey": _crypto_key,
    "gcp:serviceaccount/account:Account": _account,
    "gcp:storage/bucket:Bucket": _bucket,
    "gcp:storage/bucketObject:BucketObject": _bucket_object,
    "gcp:organizations/folder:Folder": _folder,
    "gcp:organizations/project:Project": _project_resource,
    "gcp:container/cluster:Cluster": _cluster,
    "gcp:compute/globalAddress:GlobalAddress": _global_address,
    "gcp:containeranalysis/note:Note": _path_named("projects/{project}/notes/{name}"),
    "gcp:binaryauthorization/attestor:Attestor": _path_named("projects/{project}/attestors/{name}"),
    "gcp:artifactregistry/repository:Repository": _path_named(
        "projects/{project}/locations/{location}/repositories/{repositoryId}"
    ),
    "random:index/randomPassword:RandomPassword": _random_password,
    "tls:index/privateKey:PrivateKey": _private_key,
    "tls:index/selfSignedCert:SelfSignedCert": _self_signed_cert,
    "gcp:kms/secretCiphertext:SecretCiphertext": _secret_ciphertext,
}
