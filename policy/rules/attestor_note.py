"""Where the attestation note lives: with the attestor, in the model owner's project (found by
the mutation test, `make mutate`).

A Binary Authorization attestor verifies signatures attached as occurrences of its Container
Analysis note; whoever administers the note's project decides who may attach occurrences to it
and may delete it (Binary Authorization "Creating attestors": the note holds the attestations,
the attestor references it by `projects/<project>/notes/<note>`). In the design both are Alice's,
in her model project, so the party whose image is judged never administers the note.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from .engine import Violation, violation
from .plan import Resource, get, inputs_of, is_unknown, of_type, show
from .tokens import ATTESTOR


def check_attestor_note_owned(resources: Sequence[Resource]) -> Iterator[Violation]:
    """Each attestor's note reference names a note in the attestor's own project."""
    for attestor in of_type(resources, ATTESTOR):
        ins = inputs_of(attestor)
        project = ins.get("project")
        reference = get(ins, "attestationAuthorityNote.noteReference")
        if is_unknown(project) or is_unknown(reference) or reference is None:
            continue  # no note at all is attestor-has-public-key's concern
        prefix = f"projects/{project}/notes/"
        if isinstance(reference, str) and reference.startswith(prefix):
            continue
        yield violation(
            "attestor-note-owned",
            attestor,
            f"attestationAuthorityNote.noteReference is {show(reference)}; the note must be in "
            f"the attestor's project ({prefix}<note>), so only the model owner controls who may "
            "attach attestations to it",
        )
