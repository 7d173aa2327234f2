"""Data checks: the model key rotates, and the model object in the bucket is sealed (the
bucket's own settings are rows of `table.py`)."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence

from harness import contract
from harness.contract import META_KEYSET, META_SHA256
from policy.facts import DEPLOY_FACTS_TYPE, MAX_KEY_ROTATION_SECONDS

from .engine import Violation, nonempty_str, violation
from .key_roles import model_keys
from .plan import SECRET, Resource, get, inputs_of, is_unknown, of_type, show
from .tokens import BUCKET_OBJECT

_SECONDS = re.compile(r"(\d+)(?:\.\d+)?s")  # a protobuf Duration as JSON: "7776000s"


def check_kms_rotation(resources: Sequence[Resource]) -> Iterator[Violation]:
    """Rotation bounds how much ciphertext one key version protects."""
    rule = "kms-key-rotation"
    limit = MAX_KEY_ROTATION_SECONDS
    days = limit // (24 * 3600)
    for key in model_keys(resources):  # by role: a model key cannot opt out by its purpose
        ins = inputs_of(key)
        purpose = ins.get("purpose")
        if is_unknown(purpose):
            continue
        if purpose not in (None, "ENCRYPT_DECRYPT"):
            yield violation(
                rule,
                key,
                f"purpose is {show(purpose)}; the model key (the plan wraps the model keyset "
                "with it) must be ENCRYPT_DECRYPT, the only purpose Cloud KMS rotates "
                "automatically",
            )
            continue
        period = ins.get("rotationPeriod")
        if is_unknown(period):
            continue
        match = _SECONDS.fullmatch(period) if isinstance(period, str) else None
        if not match:
            yield violation(
                rule,
                key,
                f"rotationPeriod is {show(period)}; a symmetric key must "
                f'rotate at least every {days} days (e.g. "{limit}s")',
            )
        elif int(match[1]) > limit:
            yield violation(
                rule,
                key,
                f"rotationPeriod is {show(period)}; at most {limit}s ({days} days) is allowed",
            )


def _sealed_metadata_problems(metadata: Mapping[str, object]) -> Iterator[str]:
    key = metadata.get(META_KEYSET)
    if not (is_unknown(key) or nonempty_str(key)):
        yield (
            f'metadata["{META_KEYSET}"] is {show(key)}; the object '
            "must be sealed: a KMS-wrapped Tink keyset, base64"
        )
    digest = metadata.get(META_SHA256)
    if not (
        is_unknown(digest)
        or digest == SECRET
        or (isinstance(digest, str) and contract.SHA256_HEX.fullmatch(digest))
    ):
        yield (
            f'metadata["{META_SHA256}"] is {show(digest)}; expected '
            "the 64 lower-case hex SHA-256 of the plaintext model"
        )


def check_model_object_sealed(resources: Sequence[Resource]) -> Iterator[Violation]:
    """A model object without its wrapped keyset is plaintext (or undecryptable)."""
    rule = "model-object-sealed"
    for obj in of_type(resources, BUCKET_OBJECT):
        metadata = inputs_of(obj).get("metadata")
        if is_unknown(metadata):
            continue
        if metadata == SECRET:
            yield violation(
                rule,
                obj,
                "metadata is a secret as a whole; mark only values secret "
                f"so the {META_KEYSET} entry can be verified",
            )
            continue
        meta = metadata if isinstance(metadata, Mapping) else {}
        for problem in _sealed_metadata_problems(meta):
            yield violation(rule, obj, problem)
    yield from check_sealed_source(resources)


def recorded_sealed_sources(resources: Sequence[Resource]) -> dict[str, str]:
    """Object name -> the ciphertext file the stack's config names (`model.sealed.source`),
    as the program records it (infra/program.py `record_deploy_facts`)."""
    out: dict[str, str] = {}
    for record in of_type(resources, DEPLOY_FACTS_TYPE):
        sealed = inputs_of(record).get("sealedModel")
        if isinstance(sealed, Mapping):
            name, source = sealed.get("object"), sealed.get("source")
            if isinstance(name, str) and isinstance(source, str):
                out[name] = source
    return out


def check_sealed_source(resources: Sequence[Resource]) -> Iterator[Violation]:
    """The sealed metadata says nothing about the bytes beside it: an object that uploads any
    other file than the ciphertext the seal tool wrote (the plaintext next to it, say) would
    carry a valid keyset over plaintext. The plan shows the uploaded file's path, so it must be
    the sealed file the config names."""
    rule = "model-object-sealed"
    sources = recorded_sealed_sources(resources)
    for obj in of_type(resources, BUCKET_OBJECT):
        ins = inputs_of(obj)
        expected = sources.get(ins.get("name")) if isinstance(ins.get("name"), str) else None
        uploaded = get(ins, "source.asset")
        if expected is None or is_unknown(uploaded) or uploaded == expected:
            continue
        yield violation(
            rule,
            obj,
            f"source is the file {show(uploaded)}; the object must upload the sealed file the "
            f"config names (model.sealed.source {show(expected)}), the ciphertext "
            "`python -m infra seal` wrote",
        )
