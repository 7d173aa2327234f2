"""Entry point of the `gke-sandbox` component package: `python -m components <engine address>`.

The Python language host runs this file by path (PulumiPlugin.yaml `main: components`), so the
repository root, which holds the `components` package, is put on the import path first.
"""

import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from components.package import host

host()
