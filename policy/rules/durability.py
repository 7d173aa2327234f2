"""Durability of Alice's data (issue 14 item 4): the model key, its key ring and the bucket that
holds the sealed model survive `pulumi destroy` and a careless overwrite.

Losing the key makes every sealed copy undecryptable; losing the bucket (or overwriting the one
object without an older generation) loses the model itself. The plan records Pulumi's `protect`
option per resource, and the bucket's own `forceDestroy` and `versioning` inputs.

Pulumi: a protected resource cannot be deleted until `protect` is removed in a reviewed change
(https://www.pulumi.com/docs/iac/concepts/options/protect/). pulumi-gcp 10.2.0 `storage.Bucket`:
`force_destroy` "When deleting a bucket, this boolean option will delete all contained
objects", `versioning.enabled` keeps noncurrent object generations.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from .engine import Violation, violation
from .key_roles import model_keys
from .plan import Resource, as_list, get, inputs_of, is_unknown, of_type, show
from .tokens import BUCKET, KEY_RING

RULE = "model-data-durable"


def _unprotected(resource: Resource, what: str) -> Violation | None:
    if resource.get("protect") is True:
        return None
    return violation(
        RULE,
        resource,
        f"protect is {show(resource.get('protect', False))}; {what} must be protected "
        "(ResourceOptions(protect=True)) so `pulumi destroy` cannot remove it",
    )


def check_model_data_durable(resources: Sequence[Resource]) -> Iterator[Violation]:
    """Key ring, model key and model bucket protected; the bucket versioned, never force-deleted.

    Every bucket is judged: in this system a bucket exists only to hold the sealed model."""
    checks = [
        *((ring, "a key ring holding the model key") for ring in of_type(resources, KEY_RING)),
        *(
            (key, "the model key (losing it loses every sealed copy)")
            for key in model_keys(resources)
        ),
        *((bucket, "the bucket holding the sealed model") for bucket in of_type(resources, BUCKET)),
    ]
    for resource, what in checks:
        found = _unprotected(resource, what)
        if found:
            yield found
    for bucket in of_type(resources, BUCKET):
        ins = inputs_of(bucket)
        force = ins.get("forceDestroy")
        if force is not None and force is not False and not is_unknown(force):
            yield violation(
                RULE,
                bucket,
                f"forceDestroy is {show(force)}; must be false: deleting the bucket must never "
                "delete the sealed model with it",
            )
        enabled = get(ins, "versioning.enabled")
        if enabled is not True and not is_unknown(enabled):
            yield violation(
                RULE,
                bucket,
                f"versioning.enabled is {show(enabled)}; must be true, so an overwritten or "
                "deleted sealed model can be restored from its previous generation",
            )
    yield from check_bucket_lifecycle(resources)


LIFECYCLE_LOSSY_ACTIONS = ("Delete", "SetStorageClass")
"""pulumi-gcp 10.2.0 `storage.BucketLifecycleRuleAction.type`: `Delete`, `SetStorageClass`,
`AbortIncompleteMultipartUpload`. The first deletes objects (or their older generations), the
second moves them to a class with minimum storage durations and retrieval fees
(cloud.google.com/storage/docs/lifecycle#actions); only aborting uploads leaves the model alone."""


def check_bucket_lifecycle(resources: Sequence[Resource]) -> Iterator[Violation]:
    """Part of `model-data-durable`: no lifecycle rule may delete or move the sealed model (or the
    older generations versioning keeps), whatever its condition: conditions such as age or
    `numNewerVersions` match the one object sooner or later."""
    for bucket in of_type(resources, BUCKET):
        rules = inputs_of(bucket).get("lifecycleRules")
        for i, rule in enumerate(as_list(rules)):
            action = get(rule, "action.type")
            if is_unknown(action) or action not in LIFECYCLE_LOSSY_ACTIONS:
                continue
            yield violation(
                RULE,
                bucket,
                f"lifecycleRules[{i}].action.type is {show(action)} (condition "
                f"{show(get(rule, 'condition'))}); no lifecycle rule may delete or transition "
                "the sealed model or its older generations",
            )
