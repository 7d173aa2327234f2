"""infra.kubeconfig: the DNS endpoint is trusted by its public certificate, the IP endpoint by
the cluster CA; both authenticate with the caller's Google identity (issue 10)."""

from __future__ import annotations

import yaml

from infra import kubeconfig

DNS = "gke-0123456789abcdef0123456789abcdef-123456789012.us-central1-a.gke.goog"


def test_dns_endpoint_kubeconfig_carries_no_cluster_ca():
    document = yaml.safe_load(kubeconfig.render("sandbox", DNS, "Q0E=", namespace="ns1"))
    (cluster,) = document["clusters"]
    assert cluster["cluster"] == {"server": f"https://{DNS}"}
    (user,) = document["users"]
    assert user["user"]["exec"]["command"] == "gke-gcloud-auth-plugin"
    assert document["contexts"][0]["context"]["namespace"] == "ns1"


def test_ip_endpoint_kubeconfig_pins_the_cluster_ca():
    document = yaml.safe_load(kubeconfig.render("sandbox", "203.0.113.10", "Q0E="))
    (cluster,) = document["clusters"]
    assert cluster["cluster"] == {
        "server": "https://203.0.113.10",
        "certificate-authority-data": "Q0E=",
    }


def test_only_gke_goog_names_count_as_dns_endpoints():
    assert kubeconfig.is_dns_endpoint(DNS)
    assert kubeconfig.is_dns_endpoint(DNS + ".")
    assert not kubeconfig.is_dns_endpoint("203.0.113.10")
    assert not kubeconfig.is_dns_endpoint("evil-gke.goog.example.com")
