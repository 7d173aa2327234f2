"""The harness: downloads a sealed model, decrypts it in memory, verifies it, serves it.

Runs as `python -I -B -m harness` in a distroless image (see `harness/Dockerfile`). This
package never imports Pulumi or anything from `infra/`, `components/` or `stacks/`.
"""

__version__ = "0.1.0"
