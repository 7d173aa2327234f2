"""Alice's cluster stack: wired to the model stack's attestor, key and bucket, and to nothing of Bob's."""

from __future__ import annotations

from stacks import outputs as out
from tests.conftest import stack_config

CONFIG = stack_config("cluster")
TOP_LEVEL = {
    "gke-sandbox:confidential_folder:ConfidentialFolder": {"folder"},
    "gke-sandbox:sandbox_project:SandboxProject": {"project"},
    "gke-sandbox:binauthz_policy:BinAuthzPolicy": {"binauthz"},
    "gke-sandbox:confidential_cluster:ConfidentialCluster": {"cluster"},
    "gke-sandbox:workload_identity:WorkloadIdentity": {"workload-identity"},
    "gke-sandbox:tenant_iam:TenantIam": {"tenant-iam-bob", "tenant-iam-carol"},
    # Pulumi.cluster.yaml turns the VPC Service Controls perimeter on.
    "gke-sandbox:service_perimeter:ServicePerimeter": {"perimeter"},
    # Issue 10: the platform image mirror and the load balancers' SSL policy.
    "gke-sandbox:image_mirror:ImageMirror": {"mirror"},
    "gke-sandbox:tls_policy:TlsPolicy": {"tls"},
    # The Ingress's reserved global address, and the program's record of deploy config.
    "gke-sandbox:ingress_address:IngressAddress": {"ingress"},
    "gke-sandbox:review:DeployFacts": {"deploy-facts"},
    # The config facts the review needs to judge this plan alone (the workload KSA).
    "gke-sandbox:review:AllowedExtras": {"review"},
}
POLICY = "gcp:binaryauthorization/policy:Policy"
VERIFIER = "gcp:binaryauthorization/attestorIamMember:AttestorIamMember"
DECRYPTER = "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember"
READER = "gcp:storage/bucketIAMMember:BucketIAMMember"
WI_BINDING = "gcp:serviceaccount/iAMMember:IAMMember"
PROJECT = "gcp:organizations/project:Project"
CLUSTER = "gcp:container/cluster:Cluster"
TENANT_GRANT = "gcp:projects/iAMMember:IAMMember"


def test_only_cluster_components_are_registered(shipped):
    cluster = shipped("cluster")
    assert cluster.top_level() == TOP_LEVEL, sorted(cluster.top_level())
    for resource in cluster.plan.resources:
        assert not resource.type.startswith("kubernetes:"), resource.urn
        if resource.type == "pulumi:pulumi:Stack":
            continue
        ancestors = {resource.type, *cluster.ancestor_types(resource)}
        assert ancestors & set(TOP_LEVEL), resource.urn


def test_the_plan_records_the_workload_ksa_for_the_review(shipped):
    record = shipped("cluster").plan.one("gke-sandbox:review:AllowedExtras")
    assert record.inputs == {
        "workloadKsas": [
            {
                "serviceAccount": "model-reader@ab-demo-cluster.iam.gserviceaccount.com",
                "namespace": "ns1",
                "name": "tee-sa",
            }
        ]
    }, record.urn


def test_binauthz_requires_the_model_stacks_attestor(shipped):
    plan = shipped("cluster").plan
    attestor = shipped("model").plan.outputs[out.ATTESTOR]
    policy = plan.one(POLICY)
    assert policy.inputs["defaultAdmissionRule"]["requireAttestationsBies"] == [attestor], (
        policy.urn
    )
    assert policy.inputs["project"] == CONFIG["cluster"]["project"], policy.urn
    grant = plan.one(VERIFIER)
    number = plan.outputs[out.CLUSTER_PROJECT_NUMBER]
    assert grant.inputs["attestor"] == attestor, grant.urn
    assert grant.inputs["member"] == (
        f"serviceAccount:service-{number}@gcp-sa-binaryauthorization.iam.gserviceaccount.com"
    ), grant.urn


def test_binauthz_allowlist_is_the_configured_gatekeeper_digests(shipped):
    policy = shipped("cluster").plan.one(POLICY)
    assert [p["namePattern"] for p in policy.inputs["admissionWhitelistPatterns"]] == CONFIG[
        "cluster"
    ]["binauthzAllowlist"], policy.urn


def test_decrypt_and_read_reach_exactly_the_model_stacks_key_and_object(shipped):
    plan = shipped("cluster").plan
    model = shipped("model").plan.outputs
    gsa = plan.outputs[out.WORKLOAD_SERVICE_ACCOUNT]
    decrypter = plan.one(DECRYPTER)
    assert decrypter.inputs["cryptoKeyId"] == model[out.KMS_KEY_ID], decrypter.urn
    assert decrypter.inputs["member"] == f"serviceAccount:{gsa}", decrypter.urn
    reader = plan.one(READER)
    assert reader.inputs["bucket"] == model[out.MODEL_BUCKET], reader.urn
    assert reader.inputs["member"] == f"serviceAccount:{gsa}", reader.urn
    obj = CONFIG["model"]["object"]
    assert reader.inputs["condition"]["expression"] == (
        f'resource.name == "projects/_/buckets/{model[out.MODEL_BUCKET]}/objects/{obj}"'
    ), reader.urn


def test_workload_identity_binds_the_hosting_tenants_ksa(shipped):
    plan = shipped("cluster").plan
    (host,) = [t for t in CONFIG["tenants"] if t.get("workloadServiceAccount")]
    project = CONFIG["cluster"]["project"]
    member = f"serviceAccount:{project}.svc.id.goog[{host['namespace']}/{host['workloadServiceAccount']}]"
    binding = plan.one(WI_BINDING)
    gsa = plan.outputs[out.WORKLOAD_SERVICE_ACCOUNT]
    assert binding.inputs["member"] == member, binding.urn
    assert binding.inputs["role"] == "roles/iam.workloadIdentityUser", binding.urn
    assert binding.inputs["serviceAccountId"] == f"projects/{project}/serviceAccounts/{gsa}", (
        binding.urn
    )
    assert plan.outputs[out.WORKLOAD_IDENTITY] == member, out.WORKLOAD_IDENTITY


def test_binding_waits_for_the_cluster_that_creates_the_pool(shipped):
    cluster = shipped("cluster")
    binding = cluster.plan.one(WI_BINDING)
    gke = cluster.plan.one(CLUSTER)
    assert gke.urn in cluster.registrations.dependencies[binding.urn], binding.urn


def test_project_is_in_the_folder_and_the_nodes_use_the_node_sa(shipped):
    plan = shipped("cluster").plan
    project = plan.one(PROJECT)
    folder = plan.outputs[out.FOLDER]
    assert project.inputs["folderId"] == folder.removeprefix("folders/"), project.urn
    assert project.inputs["billingAccount"] == CONFIG["cluster"]["billingAccount"], project.urn
    gke = plan.one(CLUSTER)
    assert gke.inputs["nodeConfig"]["serviceAccount"] == plan.outputs[out.NODE_SERVICE_ACCOUNT], (
        gke.urn
    )
    assert gke.inputs["location"] == CONFIG["cluster"]["location"], gke.urn


def test_each_tenant_member_may_only_get_credentials(shipped):
    plan = shipped("cluster").plan
    members = sorted(m for t in CONFIG["tenants"] for m in t["members"])
    grants = [
        g for g in plan.of_type(TENANT_GRANT) if g.inputs["role"].startswith("roles/container.")
    ]
    assert sorted(g.inputs["member"] for g in grants) == members, [g.urn for g in grants]
    for grant in grants:
        assert grant.inputs["role"] == "roles/container.clusterViewer", grant.urn


def test_exports_cover_the_cluster_keys(shipped):
    outputs = shipped("cluster").plan.outputs
    expected = {
        out.FOLDER,
        out.CLUSTER_PROJECT,
        out.CLUSTER_PROJECT_NUMBER,
        out.CLUSTER_NAME,
        out.CLUSTER_ENDPOINT,
        out.CLUSTER_CA_CERTIFICATE,
        out.NODE_SERVICE_ACCOUNT,
        out.WORKLOAD_SERVICE_ACCOUNT,
        out.WORKLOAD_IDENTITY,
        out.MIRROR_REPOSITORY,
        out.SSL_POLICY,
        out.INGRESS_ADDRESS,
        out.INGRESS_ADDRESS_NAME,
    }
    assert set(outputs) == expected, sorted(set(outputs) ^ expected)
    assert outputs[out.CLUSTER_NAME] == CONFIG["cluster"]["name"], out.CLUSTER_NAME


def test_mirror_and_ssl_policy_are_exported_for_the_other_stacks(shipped):
    """Alice copies Gatekeeper to the mirror; Bob's workload names the SSL policy (issue 10)."""
    outputs = shipped("cluster").plan.outputs
    assert outputs[out.MIRROR_REPOSITORY] == "us-central1-docker.pkg.dev/ab-demo-cluster/mirror"
    assert outputs[out.SSL_POLICY] == "sandbox-tls"
    policy = shipped("cluster").plan.one("gcp:compute/sSLPolicy:SSLPolicy")
    assert (policy.inputs["profile"], policy.inputs["minTlsVersion"]) == ("MODERN", "TLS_1_2")
