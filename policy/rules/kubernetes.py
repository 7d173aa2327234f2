"""Kubernetes checks: every image a workload, a ConfigGroup object or a Helm chart runs is
pinned by digest. Which kinds create pods and where their pod spec lives is one fact,
`policy.facts.POD_SPEC_PATHS` (ReplicationController included)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from policy.facts import BY_DIGEST_HINT, DIGEST, IMAGE_BY_DIGEST, POD_SPEC_PATHS

from .engine import Violation, one_of, violation
from .plan import Resource, as_list, get, inputs_of, is_unknown, show, type_of
from .tokens import CONFIG_GROUP, HELM_TYPES, K8S_WORKLOAD_TYPES

_BY_DIGEST = f"images must be pinned by digest ({BY_DIGEST_HINT})"
_CONTAINER_LISTS = ("containers", "initContainers", "ephemeralContainers")


def _by_digest(image: Any) -> bool:
    return isinstance(image, str) and IMAGE_BY_DIGEST.match(image) is not None


def _ends_in_digest(text: str) -> bool:
    """`...sha256:<64 hex>` (a digest field, or a tag that carries one)."""
    return DIGEST.match(text[-len("sha256:") - 64 :]) is not None


def _pod_images(
    rule: str, resource: Resource, obj: Any, kind: str, prefix: str
) -> Iterator[Violation]:
    """The images of the pod spec of one object of a pod-creating `kind`."""
    spec_path = POD_SPEC_PATHS[kind][1]
    spec = get(obj, spec_path)
    if is_unknown(spec):
        return
    seen = 0
    for key in _CONTAINER_LISTS:
        for i, container in enumerate(as_list(get(spec, key))):
            seen += 1
            image = get(container, "image")
            if not is_unknown(image) and not _by_digest(image):
                path = f"{prefix}{spec_path}.{key}[{i}].image"
                yield violation(rule, resource, f"{path} is {show(image)}; {_BY_DIGEST}")
    if not seen:
        yield violation(
            rule,
            resource,
            f"{prefix}{spec_path}.containers is unset; a workload "
            "without containers cannot be verified",
        )


def _is_image_key(key: Any) -> bool:
    return isinstance(key, str) and (key.endswith("Image") or key.endswith("image"))


def _image_map_problems(image: Mapping[str, Any], path: str) -> Iterator[tuple[str, str]]:
    """Problems of a Helm image map such as {repository, tag|release, digest, crdRepository}.

    Every `*repository` string must carry `@sha256:<64 hex>` itself, except `repository`, which
    may instead be pinned by a sibling `digest` (or `tag`) of `sha256:<64 hex>`. A map without
    repository fields is pinned when one of its strings ends in `sha256:<64 hex>`."""
    sibling_digest = any(
        isinstance(image.get(k), str) and _ends_in_digest(image[k]) for k in ("digest", "tag")
    )
    repositories = [
        k
        for k, v in image.items()
        if isinstance(v, str) and isinstance(k, str) and k.lower().endswith("repository")
    ]
    for key in repositories:
        value = image[key]
        if _by_digest(value) or (key == "repository" and sibling_digest):
            continue
        either = " or a digest field sha256:<64 hex>" if key == "repository" else ""
        yield f"{path}.{key}", f"is {show(value)}; pin it by digest: {BY_DIGEST_HINT}{either}"
    texts = [v for v in image.values() if isinstance(v, str)]
    if not repositories and texts and not any(_ends_in_digest(v) for v in texts):
        yield (
            path,
            f"is {show(dict(image))}; set its digest (sha256:<64 hex>) so the chart "
            "pulls the image by digest",
        )


def _helm_values(value: Any, path: str, found: list[str]) -> Iterator[tuple[str, str]]:
    """(path, problem) for image-like values not pinned by digest; `found` collects image paths.

    A string under an image-like key (`image`, `*Image`) must be `<repo>@sha256:<64 hex>`; a map
    under one is judged by `_image_map_problems`; a non-empty string under a `digest` key must be
    `sha256:<64 hex>`."""
    if isinstance(value, list):
        for i, item in enumerate(value):
            yield from _helm_values(item, f"{path}[{i}]", found)
        return
    if not isinstance(value, Mapping):
        return
    for key, item in value.items():
        here = f"{path}.{key}"
        if _is_image_key(key):
            found.append(here)
            if isinstance(item, str) and not _by_digest(item):
                yield here, f"is {show(item)}; {_BY_DIGEST}"
            elif isinstance(item, Mapping):
                yield from _image_map_problems(item, here)
        elif key == "digest" and isinstance(item, str) and item and not DIGEST.match(item):
            yield here, f"is {show(item)}; a digest is sha256:<64 hex>"
        if isinstance(item, Mapping | list):
            yield from _helm_values(item, here, found)


def _config_group_objects(
    rule: str, group: Resource
) -> tuple[list[tuple[str, Any]], list[Violation]]:
    """The objects a ConfigGroup applies (`objs`, then the documents of `yaml`), each with
    its path prefix, and a violation if the yaml cannot be read."""
    ins = inputs_of(group)
    objects = [(f"objs[{i}].", obj) for i, obj in enumerate(as_list(ins.get("objs")))]
    problems: list[Violation] = []
    text = ins.get("yaml")
    if isinstance(text, str) and text.strip() and not is_unknown(text):
        try:
            import yaml  # PyYAML ships with the Pulumi SDK; only needed for this input

            docs = [d for d in yaml.safe_load_all(text) if d is not None]
            objects += [(f"yaml[{i}].", doc) for i, doc in enumerate(docs)]
        except Exception as exc:
            problems.append(
                violation(
                    rule,
                    group,
                    f"yaml cannot be parsed ({type(exc).__name__}); its images cannot be verified",
                )
            )
    return objects, problems


def _helm_images(rule: str, release: Resource) -> Iterator[Violation]:
    values = inputs_of(release).get("values")
    if is_unknown(values):
        return
    found: list[str] = []
    for path, problem in _helm_values(values or {}, "values", found):
        yield violation(rule, release, f"{path} {problem}")
    if not found:
        yield violation(
            rule,
            release,
            f"values sets no image; the chart's default images are pinned by tag, override them: {_BY_DIGEST}",
        )


def check_images_by_digest(resources: Sequence[Resource]) -> Iterator[Violation]:
    """A tag can be moved to other bytes; a digest names exactly what was reviewed."""
    rule = "images-by-digest"
    for resource in resources:
        token = type_of(resource)
        if token in K8S_WORKLOAD_TYPES:
            kind = K8S_WORKLOAD_TYPES[token]
            yield from _pod_images(rule, resource, inputs_of(resource), kind, "")
        elif token == CONFIG_GROUP:
            objects, problems = _config_group_objects(rule, resource)
            yield from problems
            for prefix, obj in objects:
                kind = get(obj, "kind")
                if one_of(kind, POD_SPEC_PATHS):
                    yield from _pod_images(rule, resource, obj, kind, prefix)
        elif token in HELM_TYPES:
            yield from _helm_images(rule, resource)
