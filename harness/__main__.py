"""`python -I -B -m harness`: the image's entrypoint (see harness/server.py)."""

import sys

from harness.server import main

sys.exit(main())
