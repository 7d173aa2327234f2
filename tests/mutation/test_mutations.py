"""The mutation table stays honest, and a fast subset proves plan + review catch each class.

`make mutate` runs every mutation (minutes); here every mutation is only checked to still apply
(its text occurs exactly once), and the `fast` ones, one per concern class, run for real.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from tests.mutation.mutations import MUTATIONS, Edit, Mutation, select
from tests.mutation.runner import (
    StaleMutation,
    Verdict,
    apply,
    check_applies,
    run_all,
    supports_policy_from,
)

FAST = select(MUTATIONS, fast=True)


def test_table_spans_every_seed_step() -> None:
    assert len(MUTATIONS) >= 60
    assert {mu.step for mu in MUTATIONS} == set(range(1, 17))
    ids = [mu.id for mu in MUTATIONS]
    assert len(ids) == len(set(ids)), "duplicate mutation ids"
    assert all(re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", i) for i in ids)


def test_fast_subset_is_small_and_spread() -> None:
    assert 6 <= len(FAST) <= 12
    assert len({mu.step for mu in FAST}) >= 6
    assert all(mu.expect for mu in FAST), "a fast mutation names the rule that must catch it"


@pytest.mark.parametrize("mutation", MUTATIONS, ids=lambda mu: mu.id)
def test_mutation_still_applies(mutation: Mutation) -> None:
    """A mutation whose code moved must be updated, not silently test nothing."""
    assert all(e.old != e.new for e in mutation.edits)
    check_applies(mutation)


def test_stale_mutation_is_refused(tmp_path) -> None:
    (tmp_path / "f.py").write_text("x = 1\nx = 1\n", encoding="utf-8")
    twice = Mutation("twice", 1, (Edit("f.py", "x = 1", "x = 2"),), "ambiguous")
    with pytest.raises(StaleMutation, match="occurs 2 times"):
        apply(twice, tmp_path)
    gone = Mutation("gone", 1, (Edit("f.py", "y = 1", "y = 2"),), "moved away")
    with pytest.raises(StaleMutation, match="occurs 0 times"):
        apply(gone, tmp_path)
    assert (tmp_path / "f.py").read_text(encoding="utf-8") == "x = 1\nx = 1\n"


def test_select_rejects_unknown_ids() -> None:
    with pytest.raises(KeyError, match="no-such-mutation"):
        select(MUTATIONS, ids=["no-such-mutation"])


@pytest.fixture(scope="module")
def fast_verdicts() -> Iterator[dict[str, Verdict]]:
    yield {v.mutation.id: v for v in run_all(FAST, workers=2)}


@pytest.mark.parametrize("mutation", FAST, ids=lambda mu: mu.id)
def test_fast_mutation_is_caught(mutation: Mutation, fast_verdicts: dict[str, Verdict]) -> None:
    verdict = fast_verdicts[mutation.id]
    assert verdict.kind == "rules", verdict.line()
    missing = set(mutation.expect) - set(verdict.rules)
    assert not missing, f"{verdict.line()}; expected also {sorted(missing)}"


def test_fast_run_judges_with_the_committed_policy(fast_verdicts: dict[str, Verdict]) -> None:
    """Once the review takes --policy-from, the mutated tree is judged by the unmutated commit."""
    from tests.mutation.runner import ROOT

    assert all(v.policy_from == supports_policy_from(ROOT) for v in fast_verdicts.values())
