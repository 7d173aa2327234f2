"""ImageMirror: Alice's repository for the platform images private nodes pull (issue 10)."""

from __future__ import annotations

from typing import Any

from components.image_mirror import ImageMirror, ImageMirrorArgs, mirror_url

REPOSITORY = "gcp:artifactregistry/repository:Repository"


def mirror_args(**overrides: Any) -> ImageMirrorArgs:
    base: dict[str, Any] = {"project": "ab-demo-cluster", "location": "us-central1"}
    return ImageMirrorArgs(**{**base, **overrides})


def test_mirror_is_a_docker_repository_with_immutable_tags(run):
    plan = run(lambda: ImageMirror("mirror", mirror_args(repository_id="platform")))
    repo = plan.one(REPOSITORY)
    assert repo.inputs["format"] == "DOCKER", repo.urn
    assert repo.inputs["dockerConfig"] == {"immutableTags": True}, repo.urn
    assert repo.inputs["repositoryId"] == "platform", repo.urn
    assert repo.inputs["project"] == "ab-demo-cluster", repo.urn
    assert repo.inputs["location"] == "us-central1", repo.urn


def test_mirror_url_is_the_prefix_images_carry():
    assert mirror_url("europe-west4", "p-1234", "mirror") == (
        "europe-west4-docker.pkg.dev/p-1234/mirror"
    )
