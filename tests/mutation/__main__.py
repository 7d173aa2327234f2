"""`python -m tests.mutation`: apply every source mutation to a copy and ask plan + review.

One line per mutation (id, seed step, the rules that caught it or SURVIVED), then a tally.
exit status: 0 every mutation caught, 1 a survivor or a stale mutation, 2 bad arguments
"""

from __future__ import annotations

import argparse
import sys
import time

from tests.mutation.mutations import MUTATIONS, select
from tests.mutation.runner import run_all, tally


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.mutation", description=__doc__)
    parser.add_argument("ids", nargs="*", metavar="ID", help="only these mutations")
    parser.add_argument("--fast", action="store_true", help="only the subset `make test` runs")
    parser.add_argument("--step", type=int, action="append", help="only this seed step (1-16)")
    parser.add_argument("--workers", type=int, default=2, help="parallel copies, 1 or 2")
    parser.add_argument("--list", action="store_true", help="list the mutations and exit")
    args = parser.parse_args(argv)
    try:
        chosen = select(MUTATIONS, ids=args.ids, fast=args.fast, steps=args.step)
    except KeyError as exc:
        parser.error(str(exc.args[0]))
    if args.list:
        for m in chosen:
            print(f"{m.id:<34} step {m.step:>2}  {'+'.join(m.paths)}: {m.why}")
        return 0
    start = time.monotonic()
    print(f"mutation test: {len(chosen)} mutations, {args.workers} worker(s)", flush=True)
    verdicts = run_all(chosen, workers=args.workers, report=lambda v: print(v.line(), flush=True))
    print(tally(verdicts))
    print(f"took {time.monotonic() - start:.0f}s")
    return 0 if all(v.caught for v in verdicts) else 1


if __name__ == "__main__":
    sys.exit(main())
