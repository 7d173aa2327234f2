"""The harness on Confidential Space: the model key is released to a hardware attestation.

One Confidential VM (AMD SEV or Intel TDX) boots Google's production Confidential Space image and
runs the harness image by digest; its launcher writes an attestation token (issued by Google
Cloud Attestation) that names the image digest, the image's debug status and support level and
the VM's service account. A workload identity pool provider accepts that token only when every
clause of `policy.facts.attestation_condition` holds, and the model key (decrypt) and the sealed
object (read) are granted to the pool's principalSet of that one digest, nobody else. An external
Application Load Balancer with the sandbox's SSL policy is the HTTPS entry; the VM has no
external address.

Sources (Google Cloud docs, confidential-computing/confidential-space/docs/...):
- "Deploy workloads" (deploy-workloads): the production image family, Secure Boot, the
  `tee-image-reference` / `tee-restart-policy` / `tee-env-*` / `tee-container-log-redirect`
  metadata, the cloud-platform scope;
- "Create and grant access to confidential resources" (create-grant-access-confidential-resources):
  the OIDC provider (issuer https://confidentialcomputing.googleapis.com/, audience
  https://sts.googleapis.com), the attribute mapping and condition, principalSet grants;
- "Attestation assertions" (reference/attestation-assertions) and "Attestation token claims"
  (reference/token-claims): `swname`, `dbgstat`, `submods.confidential_space.support_attributes`,
  `submods.container.image_digest`, `google_service_accounts`.
Field names checked against pulumi-gcp 10.2.0 (iam/workload_identity_pool_provider.py,
compute/instance.py, compute/_inputs.py).
"""

from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp
import pulumi_random as random

from components._common import as_args, child, sa_member, secret_outputs, token, waits_for
from harness.contract import (
    ENV_KMS_KEY_URI,
    ENV_MODEL_SHA256,
    ENV_MODEL_URI,
    ENV_TOKEN_SEALED,
    ENV_TRUSTED_PROXIES,
    ENV_WIP_PROVIDER,
    LIVENESS_PATH,
    PORT,
    PORT_NAME,
    SEALED_TOKEN_AAD,
    SPACE_ENV,
)
from policy.facts import (
    ATTESTATION_ISSUER,
    CONFIDENTIAL_MACHINE_FAMILIES,
    CONFIDENTIAL_SPACE_IMAGE,
    GOOGLE_FRONT_END_CIDRS,
    IMAGE_BY_DIGEST,
    IMAGE_DIGEST_ASSERTION,
    IMAGE_DIGEST_ATTRIBUTE,
    SPACE_VM_ROLES,
    STS_AUDIENCE,
    attestation_condition,
    attested_principal_set,
    supports_confidential_type,
)

CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform"
# The launcher restarts the harness only when it exits with an error (values: Never, Always,
# OnFailure; "Deploy workloads", metadata variable tee-restart-policy).
RESTART_POLICY = "OnFailure"


@dataclass
class ConfidentialSpaceWorkloadArgs:
    """Where the VM runs, which image it runs, and which key and object it may use."""

    project: pulumi.Input[str]
    """The project that runs the VM and holds the workload identity pool."""
    project_number: pulumi.Input[str]
    """That project's number (principalSet identifiers name the project by number)."""
    zone: str
    """The VM's zone, such as us-central1-a."""
    image: str
    """The approved harness image, `<repository>@sha256:<64 hex>`: the only image that gets the key."""
    host: str
    """The DNS name clients use; the load balancer's Google-managed certificate is for it."""
    kms_key_id: pulumi.Input[str]
    """The model key, `projects/.../cryptoKeys/<key>`: decrypt only, to the attested image only."""
    kms_key_uri: str
    """The same key as the harness reads it (`gcp-kms://projects/...`)."""
    bucket: pulumi.Input[str]
    """The model bucket."""
    object_name: str
    """The sealed model object: the only object the attested image may read."""
    ssl_policy: pulumi.Input[str]
    """The SSL policy (TLS 1.2+, MODERN) of the HTTPS proxy, as for the GKE path's Ingress."""
    model_sha256: str | None = None
    """The plaintext digest the harness must find (MODEL_SHA256), when known."""
    machine_type: str | None = "n2d-standard-2"
    """A machine type whose series runs `confidential_type` (policy.facts.CONFIDENTIAL_MACHINE_FAMILIES)."""
    confidential_type: str | None = "SEV"
    """SEV (AMD) or TDX (Intel)."""
    service_account_id: str | None = "space-harness"
    """The VM's own service account (account id): it may only run the workload and write logs."""
    pool_id: str | None = "confidential-space"
    """The workload identity pool's id."""
    provider_id: str | None = "attestation"
    """The attestation provider's id in that pool."""
    subnet_cidr: str | None = "10.40.0.0/24"
    """The VM's subnet (Private Google Access on: it reaches Google APIs without an external IP)."""
    log_redirect: bool | None = True
    """Send the container's stdout/stderr to Cloud Logging (the image's launch policy allows it)."""


def check_args(args: ConfidentialSpaceWorkloadArgs) -> None:
    """Refuse what would run another image, a non-confidential VM or a wrong machine series."""
    if not IMAGE_BY_DIGEST.match(args.image):
        raise ValueError(
            f"image {args.image!r} must be given by digest (<repository>@sha256:<64 hex>): "
            "the key is released to one digest"
        )
    if args.confidential_type not in CONFIDENTIAL_MACHINE_FAMILIES:
        raise ValueError(
            f"confidential_type {args.confidential_type!r} must be one of "
            f"{', '.join(CONFIDENTIAL_MACHINE_FAMILIES)}"
        )
    if not supports_confidential_type(args.machine_type, args.confidential_type):
        families = CONFIDENTIAL_MACHINE_FAMILIES[str(args.confidential_type)]
        raise ValueError(
            f"machine_type {args.machine_type!r} cannot run {args.confidential_type}; "
            f"use a {'/'.join(families)} machine type"
        )


def _env(
    args: ConfidentialSpaceWorkloadArgs, model_uri: str, provider: str, sealed_token: str
) -> dict[str, str]:
    """The harness's environment as `tee-env-<NAME>` metadata: only names the image admits."""
    env = {
        ENV_MODEL_URI: model_uri,
        ENV_KMS_KEY_URI: args.kms_key_uri,
        ENV_TRUSTED_PROXIES: ",".join(GOOGLE_FRONT_END_CIDRS),
        ENV_WIP_PROVIDER: provider,
        # Ciphertext only: metadata and the attestation token's claims may show it.
        ENV_TOKEN_SEALED: sealed_token,
    }
    if args.model_sha256:
        env[ENV_MODEL_SHA256] = args.model_sha256
    # The launch policy (harness/Dockerfile) refuses any other name: fail here, not at boot.
    unknown = sorted(set(env) - set(SPACE_ENV))
    if unknown:
        raise ValueError(f"the harness image admits no {', '.join(unknown)}")
    return {f"tee-env-{name}": value for name, value in env.items()}


@secret_outputs("token")
class ConfidentialSpaceWorkload(pulumi.ComponentResource):
    """A Confidential Space VM running the harness by digest, the attested key release, and its
    HTTPS load balancer.

    `depends_on` (resource option): the enablement of the compute, iam, iamcredentials, sts,
    confidentialcomputing, cloudkms and storage APIs in the project.
    """

    service_account_email: pulumi.Output[str]
    """The VM's service account (Bob's harness repository must let it pull the image)."""
    principal_set: pulumi.Output[str]
    """The only principal that can decrypt: the pool's principalSet of the approved digest."""
    provider_name: pulumi.Output[str]
    """The provider's resource name (the harness's HARNESS_WIP_PROVIDER)."""
    address: pulumi.Output[str]
    """The load balancer's IP address (point `host`'s DNS A record at it)."""
    url: pulumi.Output[str]
    """`https://<host>`."""
    token: pulumi.Output[str]
    """The bearer token clients present (secret); the VM gets it only encrypted with the model key."""

    def __init__(
        self,
        name: str,
        args: ConfidentialSpaceWorkloadArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        args = as_args(ConfidentialSpaceWorkloadArgs, args)
        check_args(args)
        super().__init__(token("confidential_space", "ConfidentialSpaceWorkload"), name, None, opts)
        waits = waits_for(opts)
        digest = args.image.rsplit("@", 1)[1]
        region = args.zone.rsplit("-", 1)[0]

        # ---- the VM's own identity: runs the workload, nothing else ----------------------
        self.service_account = gcp.serviceaccount.Account(
            f"{name}-sa",
            account_id=args.service_account_id,
            project=args.project,
            display_name="Confidential Space harness VM",
            description="Runs the harness on Confidential Space; holds no grant on the model.",
            opts=child(self, depends_on=waits),
        )
        # The account's email as IAM derives it (`<id>@<project>.iam.gserviceaccount.com`): known
        # at preview, so the provider's condition and the VM's account are judged there too.
        # What names the account waits for it (`after_account`).
        email = pulumi.Output.from_input(args.project).apply(
            lambda p: f"{args.service_account_id}@{p}.iam.gserviceaccount.com"
        )
        after_account = [*waits, self.service_account]
        for role in SPACE_VM_ROLES:
            gcp.projects.IAMMember(
                f"{name}-{role.rsplit('.', 1)[1].lower()}",
                project=args.project,
                role=role,
                member=sa_member(email),
                opts=child(self, depends_on=after_account),
            )

        # ---- attestation: the pool, its provider, the grants to one digest --------------
        self.pool = gcp.iam.WorkloadIdentityPool(
            f"{name}-pool",
            workload_identity_pool_id=args.pool_id,
            project=args.project,
            display_name="Confidential Space",
            description="Workloads attested by Google Cloud Attestation on Confidential Space.",
            opts=child(self, depends_on=waits),
        )
        self.provider = gcp.iam.WorkloadIdentityPoolProvider(
            f"{name}-provider",
            workload_identity_pool_id=self.pool.workload_identity_pool_id,
            workload_identity_pool_provider_id=args.provider_id,
            project=args.project,
            display_name="Confidential Space attestation",
            oidc={"issuer_uri": ATTESTATION_ISSUER, "allowed_audiences": [STS_AUDIENCE]},
            attribute_mapping={
                "google.subject": "assertion.sub",
                IMAGE_DIGEST_ATTRIBUTE: IMAGE_DIGEST_ASSERTION,
            },
            # Every clause must hold: production image, supported version, non-debug, the one
            # digest, this VM's service account (policy.facts.attestation_condition).
            attribute_condition=email.apply(lambda e: attestation_condition(digest, e)),
            opts=child(self, depends_on=waits),
        )
        principal = pulumi.Output.all(
            args.project_number, self.pool.workload_identity_pool_id
        ).apply(lambda v: attested_principal_set(str(v[0]), str(v[1]), digest))
        self.decrypter = gcp.kms.CryptoKeyIAMMember(
            f"{name}-decrypter",
            crypto_key_id=args.kms_key_id,
            role="roles/cloudkms.cryptoKeyDecrypter",
            member=principal,
            opts=child(self, depends_on=[self.provider]),
        )
        self.object_reader = gcp.storage.BucketIAMMember(
            f"{name}-object-viewer",
            bucket=args.bucket,
            role="roles/storage.objectViewer",
            member=principal,
            condition={
                "title": "sealed-model-only",
                "description": "Read the sealed model object and nothing else in the bucket.",
                "expression": pulumi.Output.from_input(args.bucket).apply(
                    lambda b: (
                        f'resource.name == "projects/_/buckets/{b}/objects/{args.object_name}"'
                    )
                ),
            },
            opts=child(self, depends_on=[self.provider]),
        )

        # ---- network: private subnet, only the load balancer reaches the harness ---------
        self.network = gcp.compute.Network(
            f"{name}-network",
            project=args.project,
            auto_create_subnetworks=False,
            description="The Confidential Space harness VM's network.",
            opts=child(self, depends_on=waits),
        )
        self.subnet = gcp.compute.Subnetwork(
            f"{name}-subnet",
            project=args.project,
            region=region,
            network=self.network.id,
            ip_cidr_range=args.subnet_cidr,
            # No external IP: the image pull and every Google API go through Private Google Access.
            private_ip_google_access=True,
            opts=child(self),
        )
        gcp.compute.Firewall(
            f"{name}-lb-to-harness",
            project=args.project,
            network=self.network.id,
            direction="INGRESS",
            # Google's front ends and health checkers only (policy.facts.GOOGLE_FRONT_END_CIDRS, IPv4).
            source_ranges=[c for c in GOOGLE_FRONT_END_CIDRS if ":" not in c],
            allows=[{"protocol": "tcp", "ports": [str(PORT)]}],
            target_service_accounts=[email],
            opts=child(self, depends_on=[self.service_account]),
        )

        # ---- the Confidential VM ----------------------------------------------------------
        provider_name = pulumi.Output.all(
            args.project_number, self.pool.workload_identity_pool_id, args.provider_id
        ).apply(
            lambda v: (
                f"projects/{v[0]}/locations/global/workloadIdentityPools/{v[1]}/providers/{v[2]}"
            )
        )
        model_uri = pulumi.Output.from_input(args.bucket).apply(
            lambda b: f"gs://{b}/{args.object_name}"
        )
        # The bearer token: generated here (secret in state), handed to the VM only as KMS
        # ciphertext under the model key, which only the attested image can decrypt.
        bearer = random.RandomPassword(
            f"{name}-token-value", length=48, special=False, opts=child(self)
        ).result
        sealed_token = gcp.kms.SecretCiphertext(
            f"{name}-token-sealed",
            crypto_key=args.kms_key_id,
            plaintext=bearer,
            additional_authenticated_data=SEALED_TOKEN_AAD,
            opts=child(self),
        )
        metadata = pulumi.Output.all(model_uri, provider_name, sealed_token.ciphertext).apply(
            lambda v: {
                "tee-image-reference": args.image,
                "tee-restart-policy": RESTART_POLICY,
                "tee-container-log-redirect": "true" if args.log_redirect else "false",
                **_env(args, str(v[0]), str(v[1]), str(v[2])),
                # No way in: project SSH keys blocked, OS Login on with no one granted its roles,
                # no serial console (the production image also runs no SSH daemon).
                "block-project-ssh-keys": "TRUE",
                "enable-oslogin": "TRUE",
                "serial-port-enable": "FALSE",
            }
        )
        self.instance = gcp.compute.Instance(
            f"{name}-vm",
            project=args.project,
            zone=args.zone,
            machine_type=args.machine_type,
            # Confidential VM: memory encrypted by the CPU; the attestation names the technology.
            confidential_instance_config={"confidential_instance_type": args.confidential_type},
            # Secure Boot is required for the Confidential Space image to attest.
            shielded_instance_config={
                "enable_secure_boot": True,
                "enable_vtpm": True,
                "enable_integrity_monitoring": True,
            },
            # Confidential VMs cannot live-migrate in general (TERMINATE is valid for all types).
            scheduling={"on_host_maintenance": "TERMINATE", "automatic_restart": True},
            # The production image only: the debug family allows SSH and attests dbgstat enabled.
            boot_disk={"initialize_params": {"image": CONFIDENTIAL_SPACE_IMAGE}},
            # No access_configs: no external IP.
            network_interfaces=[{"subnetwork": self.subnet.id}],
            service_account={"email": email, "scopes": [CLOUD_PLATFORM_SCOPE]},
            metadata=metadata,
            opts=child(self, depends_on=[self.service_account]),
        )

        # ---- the HTTPS entry: external Application Load Balancer ---------------------------
        self.group = gcp.compute.InstanceGroup(
            f"{name}-group",
            project=args.project,
            zone=args.zone,
            instances=[self.instance.self_link],
            named_ports=[{"name": PORT_NAME, "port": PORT}],
            opts=child(self),
        )
        health = gcp.compute.HealthCheck(
            f"{name}-health",
            project=args.project,
            https_health_check={"port": PORT, "request_path": LIVENESS_PATH},
            opts=child(self),
        )
        backend = gcp.compute.BackendService(
            f"{name}-backend",
            project=args.project,
            load_balancing_scheme="EXTERNAL_MANAGED",
            protocol="HTTPS",
            port_name=PORT_NAME,
            health_checks=health.id,
            backends=[{"group": self.group.self_link}],
            opts=child(self),
        )
        url_map = gcp.compute.URLMap(
            f"{name}-url-map", project=args.project, default_service=backend.id, opts=child(self)
        )
        certificate = gcp.compute.ManagedSslCertificate(
            f"{name}-certificate",
            project=args.project,
            managed={"domains": [args.host]},
            opts=child(self),
        )
        proxy = gcp.compute.TargetHttpsProxy(
            f"{name}-https-proxy",
            project=args.project,
            url_map=url_map.id,
            ssl_certificates=[certificate.id],
            ssl_policy=args.ssl_policy,
            opts=child(self),
        )
        self.global_address = gcp.compute.GlobalAddress(
            f"{name}-address", project=args.project, opts=child(self)
        )
        # HTTPS only: no port-80 forwarding rule exists.
        gcp.compute.GlobalForwardingRule(
            f"{name}-https",
            project=args.project,
            target=proxy.id,
            ip_address=self.global_address.address,
            port_range="443",
            load_balancing_scheme="EXTERNAL_MANAGED",
            opts=child(self),
        )

        self.service_account_email = email
        self.principal_set = principal
        self.provider_name = provider_name
        self.address = self.global_address.address
        self.url = pulumi.Output.from_input(f"https://{args.host}")
        self.token = pulumi.Output.secret(bearer)
        self.register_outputs(
            {
                "serviceAccountEmail": self.service_account_email,
                "principalSet": self.principal_set,
                "providerName": self.provider_name,
                "address": self.address,
                "url": self.url,
                "token": self.token,
            }
        )
