"""The all-in-one `dev` stack: every part in one program, wired through real Outputs."""

from __future__ import annotations

from typing import Any

from policy import admission
from stacks import outputs as out
from tests.conftest import stack_config

CONFIG = stack_config("dev")
WORKLOAD_MEMBER = "serviceAccount:ab-demo-cluster.svc.id.goog[ns1/tee-sa]"
# What the dev stack must hold: every component, and every resource type those components create.
REQUIRED_TYPES = {
    # model
    "gke-sandbox:model_vault:ModelVault",
    "gcp:kms/keyRing:KeyRing",
    "gcp:kms/cryptoKey:CryptoKey",
    "gcp:storage/bucket:Bucket",
    "gcp:storage/bucketObject:BucketObject",
    "gke-sandbox:image_attestor:ImageAttestor",
    "gcp:containeranalysis/note:Note",
    "gcp:binaryauthorization/attestor:Attestor",
    # harness
    "gke-sandbox:harness_registry:HarnessRegistry",
    "gcp:artifactregistry/repository:Repository",
    "gcp:artifactregistry/repositoryIamMember:RepositoryIamMember",
    # cluster
    "gke-sandbox:confidential_folder:ConfidentialFolder",
    "gcp:organizations/folder:Folder",
    "gcp:orgpolicy/policy:Policy",
    "gcp:iam/denyPolicy:DenyPolicy",
    "gke-sandbox:sandbox_project:SandboxProject",
    "gcp:organizations/project:Project",
    "gcp:projects/service:Service",
    "gke-sandbox:binauthz_policy:BinAuthzPolicy",
    "gcp:binaryauthorization/policy:Policy",
    "gcp:binaryauthorization/attestorIamMember:AttestorIamMember",
    "gke-sandbox:confidential_cluster:ConfidentialCluster",
    "gcp:compute/network:Network",
    "gcp:compute/subnetwork:Subnetwork",
    "gcp:serviceaccount/account:Account",
    "gcp:projects/iAMMember:IAMMember",
    "gcp:container/cluster:Cluster",
    "gcp:container/nodePool:NodePool",
    "gke-sandbox:workload_identity:WorkloadIdentity",
    "gcp:serviceaccount/iAMMember:IAMMember",
    "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember",
    "gcp:storage/bucketIAMMember:BucketIAMMember",
    "gke-sandbox:tenant_iam:TenantIam",
    # sandbox
    "pulumi:providers:kubernetes",
    "gke-sandbox:gatekeeper:Gatekeeper",
    "kubernetes:helm.sh/v4:Chart",
    "kubernetes:templates.gatekeeper.sh/v1:ConstraintTemplate",
    "gke-sandbox:tenant_sandbox:TenantSandbox",
    "kubernetes:core/v1:Namespace",
    "kubernetes:core/v1:ServiceAccount",
    "kubernetes:rbac.authorization.k8s.io/v1:Role",
    "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding",
    "kubernetes:networking.k8s.io/v1:NetworkPolicy",
    "kubernetes:core/v1:ResourceQuota",
    "kubernetes:core/v1:LimitRange",
    # workload
    "gke-sandbox:harness_workload:HarnessWorkload",
    "kubernetes:apps/v1:Deployment",
    "kubernetes:core/v1:Service",
    "kubernetes:core/v1:Secret",
    "kubernetes:networking.k8s.io/v1:Ingress",
    "kubernetes:networking.gke.io/v1beta1:FrontendConfig",
    "random:index/randomPassword:RandomPassword",
    "tls:index/privateKey:PrivateKey",
    "tls:index/selfSignedCert:SelfSignedCert",
}
SECRET_EXPORTS = {out.TENANT_KUBECONFIGS, out.HARNESS_TOKEN}


def export_keys() -> set[str]:
    """Every key `stacks/outputs.py` defines: the contract with the parties and the README."""
    return {v for k, v in vars(out).items() if k.isupper() and isinstance(v, str)}


def constraint_resources(plan: Any) -> list[Any]:
    return [r for r in plan.resources if r.type.startswith("kubernetes:constraints.gatekeeper.sh/")]


def test_every_required_resource_type_is_present(shipped):
    types = shipped("dev").plan.types()
    missing = REQUIRED_TYPES - types
    assert not missing, f"dev stack lacks {sorted(missing)}"
    assert constraint_resources(shipped("dev").plan), "no Gatekeeper constraints in dev"


def test_every_cloud_resource_belongs_to_a_component(shipped):
    dev = shipped("dev")
    stack = dev.plan.one("pulumi:pulumi:Stack")
    for resource in dev.plan.resources:
        if resource.parent == stack.urn:
            assert resource.type.startswith(("gke-sandbox:", "pulumi:providers:")), resource.urn


def test_decrypter_is_the_workload_gsa_bound_to_ns1_tee_sa(shipped):
    plan = shipped("dev").plan
    gsa_email = plan.outputs[out.WORKLOAD_SERVICE_ACCOUNT]
    gsa = plan.one("gcp:serviceaccount/account:Account", "workload-identity-gsa")
    assert (
        gsa_email == f"{gsa.inputs['accountId']}@{gsa.inputs['project']}.iam.gserviceaccount.com"
    ), gsa.urn
    decrypter = plan.one("gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember")
    assert decrypter.inputs["member"] == f"serviceAccount:{gsa_email}", decrypter.urn
    assert decrypter.inputs["cryptoKeyId"] == plan.outputs[out.KMS_KEY_ID], decrypter.urn
    binding = plan.one("gcp:serviceaccount/iAMMember:IAMMember")
    assert binding.inputs["member"] == WORKLOAD_MEMBER, binding.urn
    assert binding.inputs["role"] == "roles/iam.workloadIdentityUser", binding.urn
    assert binding.inputs["serviceAccountId"] == (
        f"projects/{gsa.inputs['project']}/serviceAccounts/{gsa_email}"
    ), binding.urn
    reader = plan.one("gcp:storage/bucketIAMMember:BucketIAMMember")
    assert reader.inputs["member"] == f"serviceAccount:{gsa_email}", reader.urn
    assert reader.inputs["bucket"] == plan.outputs[out.MODEL_BUCKET], reader.urn


def test_harness_reader_grant_is_the_cluster_node_sa(shipped):
    plan = shipped("dev").plan
    node_sa = plan.one("gcp:serviceaccount/account:Account", "cluster-node-sa")
    email = f"{node_sa.inputs['accountId']}@{node_sa.inputs['project']}.iam.gserviceaccount.com"
    assert plan.outputs[out.NODE_SERVICE_ACCOUNT] == email, node_sa.urn
    grant = plan.one("gcp:artifactregistry/repositoryIamMember:RepositoryIamMember")
    assert grant.inputs["member"] == f"serviceAccount:{email}", grant.urn
    pool = plan.one("gcp:container/nodePool:NodePool")
    assert pool.inputs["nodeConfig"]["serviceAccount"] == email, pool.urn


def test_binauthz_requires_the_model_parts_attestor(shipped):
    plan = shipped("dev").plan
    attestor = plan.one("gcp:binaryauthorization/attestor:Attestor")
    attestor_id = f"projects/{attestor.inputs['project']}/attestors/{attestor.inputs['name']}"
    assert plan.outputs[out.ATTESTOR] == attestor_id, attestor.urn
    policy = plan.one("gcp:binaryauthorization/policy:Policy")
    assert policy.inputs["defaultAdmissionRule"]["requireAttestationsBies"] == [attestor_id], (
        policy.urn
    )
    verifier = plan.one("gcp:binaryauthorization/attestorIamMember:AttestorIamMember")
    assert verifier.inputs["attestor"] == attestor_id, verifier.urn
    number = plan.outputs[out.CLUSTER_PROJECT_NUMBER]
    assert verifier.inputs["member"] == (
        f"serviceAccount:service-{number}@gcp-sa-binaryauthorization.iam.gserviceaccount.com"
    ), verifier.urn


def test_ksa_annotation_is_the_workload_gsa(shipped):
    plan = shipped("dev").plan
    ksa = plan.one("kubernetes:core/v1:ServiceAccount")
    annotation = ksa.inputs["metadata"]["annotations"]["iam.gke.io/gcp-service-account"]
    assert annotation == plan.outputs[out.WORKLOAD_SERVICE_ACCOUNT], ksa.urn
    assert (ksa.inputs["metadata"]["namespace"], ksa.inputs["metadata"]["name"]) == (
        "ns1",
        "tee-sa",
    ), ksa.urn


def test_deployment_reads_the_model_vaults_object_and_key(shipped):
    plan = shipped("dev").plan
    deployment = plan.one("kubernetes:apps/v1:Deployment")
    spec = deployment.inputs["spec"]["template"]["spec"]
    (container,) = spec["containers"]
    env = {e["name"]: e["value"] for e in container["env"]}
    sealed = plan.one("gcp:storage/bucketObject:BucketObject")
    key = plan.one("gcp:kms/cryptoKey:CryptoKey", "model-key")
    assert env["MODEL_URI"] == f"gs://{sealed.inputs['bucket']}/{sealed.inputs['name']}", (
        deployment.urn
    )
    assert env["MODEL_URI"] == plan.outputs[out.MODEL_URI], deployment.urn
    assert env["KMS_KEY_URI"] == (
        f"gcp-kms://{key.inputs['keyRing']}/cryptoKeys/{key.inputs['name']}"
    ), deployment.urn
    assert env["KMS_KEY_URI"] == plan.outputs[out.KMS_KEY_URI], deployment.urn
    assert env["MODEL_SHA256"] == sealed.inputs["metadata"]["plaintext-sha256"], deployment.urn
    assert container["image"] == plan.outputs[out.HARNESS_IMAGE], deployment.urn
    assert spec["serviceAccountName"] == "tee-sa", deployment.urn


def test_the_deployed_harness_is_admitted_by_the_sandboxs_own_rules(shipped):
    """Evaluate the planned Deployment and Service with the planned templates and constraints."""
    plan = shipped("dev").plan
    templates = [
        r.inputs for r in plan.of_type("kubernetes:templates.gatekeeper.sh/v1:ConstraintTemplate")
    ]
    constraints = [r.inputs for r in constraint_resources(plan)]
    denied = {}
    for token in ("kubernetes:apps/v1:Deployment", "kubernetes:core/v1:Service"):
        obj = plan.one(token)
        denials = admission.evaluate(obj.inputs, templates, constraints)
        if denials:
            denied[obj.urn] = [str(d) for d in denials]
    assert not denied, f"denied by the sandbox's own Gatekeeper rules: {denied}"


def test_workload_waits_for_namespace_ksa_and_rules(shipped):
    dev = shipped("dev")
    harness = dev.plan.one("gke-sandbox:harness_workload:HarnessWorkload")
    needed = {
        dev.plan.named("tenant-bob-namespace").urn,
        dev.plan.named("tenant-bob-workload-ksa").urn,
        *(c.urn for c in constraint_resources(dev.plan)),
    }
    missing = needed - dev.registrations.dependencies[harness.urn]
    assert not missing, f"{harness.urn} does not wait for {sorted(missing)}"


def test_every_export_exists_and_secret_ones_are_secret(shipped):
    captured = shipped("dev").plan.captured
    missing = export_keys() - set(captured.outputs) - set(out.SPACE_ONLY_EXPORTS)
    assert not missing, f"dev stack does not export {sorted(missing)}"
    for key in SECRET_EXPORTS:
        assert key in captured.secret_outputs, key
        assert captured.masked_outputs()[key] == "[secret]", key
    assert captured.secret_outputs == SECRET_EXPORTS, sorted(captured.secret_outputs)


def test_dev_builds_what_each_party_stack_builds(shipped):
    """The all-in-one stack is the union of the party stacks, with the same resource names."""
    dev_names = {(r.type, r.name) for r in shipped("dev").plan.resources}
    for stack in ("model", "harness", "cluster", "sandbox", "workload"):
        party = {
            (r.type, r.name)
            for r in shipped(stack).plan.resources
            if not r.type.startswith("pulumi:")
            # the review's record of config facts a party plan needs to be judged alone; dev
            # builds the resources that show those facts instead
            and r.type != "gke-sandbox:review:AllowedExtras"
        }
        missing = party - dev_names
        assert not missing, f"dev lacks {stack} resources {sorted(missing)}"


def test_the_first_dev_up_holds_gatekeeper_back_until_the_mirror_holds_it(run_stack, dev_config):
    """Staged: the mirror is created in this stack, so the first `up` (mirrored false) builds
    no chart, no tenant namespace and no workload; the record says why."""
    dev_config["sandbox"]["gatekeeper"]["mirrored"] = False
    plan = run_stack(dev_config)
    assert plan.of_type("kubernetes:helm.sh/v4:Chart") == []
    assert plan.of_type("gke-sandbox:tenant_sandbox:TenantSandbox") == []
    assert plan.of_type("kubernetes:apps/v1:Deployment") == []
    mirror = plan.named("mirror-repository")
    assert mirror.inputs["repositoryId"] == "mirror", mirror.urn
    record = plan.one("gke-sandbox:review:DeployFacts")
    assert record.inputs["gatekeeper"]["mirrored"] is False, record.urn


def test_the_reserved_address_feeds_the_ingress_and_the_trusted_proxies(run_stack, dev_config):
    """No hand-copied IP: the Ingress names the address, the harness trusts its output."""
    plan = run_stack(dev_config)
    address = plan.one("gcp:compute/globalAddress:GlobalAddress")
    assert address.inputs["name"] == "sandbox-ingress", address.urn
    assert address.inputs["addressType"] == "EXTERNAL", address.urn
    ingress = plan.one("kubernetes:networking.k8s.io/v1:Ingress")
    annotations = ingress.inputs["metadata"]["annotations"]
    assert annotations["kubernetes.io/ingress.global-static-ip-name"] == "sandbox-ingress"
    deployment = plan.one("kubernetes:apps/v1:Deployment")
    env = {
        e["name"]: e["value"]
        for e in deployment.inputs["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    # The mocked GlobalAddress resolves to 203.0.113.7 (infra/plan/mocks.py).
    assert env["HARNESS_TRUSTED_PROXIES"].endswith(",203.0.113.7/32"), deployment.urn
