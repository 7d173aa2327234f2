"""`python -I -B -m harness`: the image's entrypoint (see harness/server.py).

On Confidential Space (HARNESS_WIP_PROVIDER set) the TLS pair and the bearer token are made
first (harness/attested.py); elsewhere that step does nothing.
"""

import os
import sys

from harness.attested import prepare_confidential_space
from harness.server import main

try:
    prepare_confidential_space(os.environ)
except Exception as exc:
    print(f"harness: cannot start on Confidential Space: {exc}", file=sys.stderr)
    sys.exit(2)
sys.exit(main())
