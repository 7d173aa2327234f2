"""The page in a real browser: Playwright driving Debian's Chromium against a real harness.

Assertions are on what a person sees (table cells, labelled fields, error sentences), not
on the DOM's plumbing. Screenshots go to build/screenshots/ for a human to look at.
Chromium is installed by the `chromium` fixture when it is missing and we may install it
(root, or passwordless sudo, with apt-get); elsewhere the tests skip and say how.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from harness_testlib import REPO_ROOT, harness_env, run_harness, wait_for
from onnx_testlib import write_mlp_dir

SHOTS = REPO_ROOT / "build" / "screenshots"
BROWSERS = ("chromium", "chromium-browser", "google-chrome")
REVIEWS = ["The movie was great!", "The movie was okay.", "The movie was terrible..."]


def _find_browser() -> str | None:
    return next((path for name in BROWSERS if (path := shutil.which(name))), None)


def _install_command() -> list[str] | None:
    if shutil.which("apt-get") is None:
        return None
    if os.geteuid() == 0:
        return []
    if shutil.which("sudo") and subprocess.run(["sudo", "-n", "true"], check=False).returncode == 0:
        return ["sudo", "-n"]
    return None


@pytest.fixture(scope="session")
def chromium() -> str:
    """Path of a Chromium binary, installing Debian's package when we are allowed to."""
    found = _find_browser()
    if found:
        return found
    prefix = _install_command()
    if prefix is None:
        pytest.skip(
            "Chromium is not installed and this user cannot install it (needs apt-get and root "
            "or passwordless sudo): run `apt-get install -y chromium` as root to run the page tests"
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "chromium"]):
        subprocess.run([*prefix, *command], check=True, env=env, timeout=1200)
    found = _find_browser()
    assert found, "apt-get installed chromium but no chromium binary is on PATH"
    return found


@pytest.fixture(scope="session")
def browser(chromium: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            yield instance
        finally:
            instance.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    # The harness's certificate is signed by the test's throwaway CA, as a local run's is.
    context = browser.new_context(ignore_https_errors=True, viewport={"width": 1100, "height": 900})
    tab = context.new_page()
    try:
        yield tab
    finally:
        context.close()


def _shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _serve(emulators, tls, token_file, seal, tmp_path: Path, source: Path | None = None):
    from infra.local.gcs import free_port

    sealed = seal(source=source)
    port = free_port()
    env = harness_env(emulators, tls, token_file, port, sealed.dest)
    return run_harness(env, tmp_path / "harness.log")


def _ready(page: Any, server: Any) -> None:
    def up() -> bool:
        try:
            return page.request.get(server.url + "/readyz").status == 200
        except Exception:
            return False

    assert wait_for(up, timeout=90), server.output()


def _cells(page: Any, selector: str) -> list[list[str]]:
    return [
        [c.strip() for c in row.locator("td").all_inner_texts()]
        for row in page.locator(f"{selector} tbody tr").all()
    ]


def test_page_shows_check_predictions_and_v2_as_a_person_reads_them(
    page, emulators, tls, token_file, seal, tmp_path
):
    with _serve(emulators, tls, token_file, seal, tmp_path) as server:
        _ready(page, server)
        page.goto(server.url + "/")
        # The notes a newcomer needs before anything works.
        assert "token=" in page.locator("#token-note").inner_text()
        assert "throwaway certificate authority" in page.locator("#ca-note").inner_text()
        for area in ("#check-out", "#predict-out", "#v2-meta", "#v2-out", "#check-status"):
            assert page.locator(area).get_attribute("aria-live") == "polite", area

        page.click("#check")
        assert "Paste the bearer token first" in page.locator("#check-status").inner_text()

        page.fill("#token", "not-the-token")
        page.click("#check")
        page.wait_for_selector("#check-status.error")
        refused = page.locator("#check-status").inner_text()
        assert "refused the token" in refused and "token=" in refused and "make serve" in refused
        _shot(page, "page-wrong-token")

        page.fill("#token", token_file.read_text().strip())
        page.click("#check")
        page.wait_for_selector("#check-out dt")
        fields = dict(
            zip(
                page.locator("#check-out dt").all_inner_texts(),
                page.locator("#check-out dd").all_inner_texts(),
                strict=True,
            )
        )
        assert fields["Model"] == "sentiment-en version 2 (onnx)"
        assert fields["SHA-256"].endswith("(verified)")
        assert fields["Labels"] == "negative below 0.35, positive above 0.65, neutral between"
        assert fields["Object"].startswith("gs://test-models/")
        assert "{" not in page.locator("#check-out").inner_text()  # fields, not a JSON dump

        page.click("#predict")
        page.wait_for_selector("#predict-table tbody tr")
        rows = _cells(page, "#predict-table")
        assert [r[0] for r in rows] == REVIEWS
        for _review, score, label in rows:
            value = float(score)
            assert len(score.split(".")[1]) == 4
            expected = "negative" if value < 0.35 else "positive" if value > 0.65 else "neutral"
            assert label == expected
        assert (rows[0][2], rows[2][2]) == ("positive", "negative")
        _shot(page, "page-check-and-predict")

        page.click("#v2-load")
        page.wait_for_selector("#v2-signature tbody tr")
        assert _cells(page, "#v2-signature") == [
            ["input", "text", "BYTES", "[any]"],
            ["output", "score", "FP32", "[any, 1]"],
        ]
        assert page.get_by_label("text (BYTES, shape [any]) as a JSON array").is_visible()
        page.get_by_label("text (BYTES, shape [any]) as a JSON array").fill(
            '["The movie was great!", "The movie was terrible..."]'
        )
        page.click("#v2-infer")
        page.wait_for_selector("#v2-result tbody tr")
        [[name, datatype, shape, data]] = _cells(page, "#v2-result")
        assert (name, datatype, shape) == ("score", "FP32", "[2, 1]")
        first, second = (float(v) for v in data.split(", "))
        assert first == pytest.approx(float(rows[0][1]), abs=1e-4)
        assert second == pytest.approx(float(rows[2][1]), abs=1e-4)

        page.get_by_label("text (BYTES, shape [any]) as a JSON array").fill("not json")
        page.click("#v2-infer")
        page.wait_for_selector("#v2-status.error")
        assert "is not valid JSON: type an array such as" in page.locator("#v2-status").inner_text()
        assert page.locator("#v2-result").count() == 0  # no stale answer beside the error
        _shot(page, "page-v2")

    # The server is gone: the page says what to do, not "TypeError: Failed to fetch".
    page.click("#check")
    page.wait_for_selector("#check-status.error")
    gone = page.locator("#check-status").inner_text()
    assert "did not answer" in gone and "make serve still running" in gone
    assert "TypeError" not in gone and "Failed to fetch" not in gone
    _shot(page, "page-server-gone")


def test_a_model_without_the_review_api_is_used_through_the_v2_panel(
    page, emulators, tls, token_file, seal, tmp_path
):
    mlp = write_mlp_dir(tmp_path / "mlp")
    with _serve(emulators, tls, token_file, seal, tmp_path, source=mlp) as server:
        _ready(page, server)
        page.goto(server.url + "/")
        page.fill("#token", token_file.read_text().strip())
        page.click("#predict")
        page.wait_for_selector("#predict-status.error")
        said = page.locator("#predict-status").inner_text()
        assert "no review-scoring API" in said and "(/v2) panel below" in said

        page.click("#v2-load")
        page.wait_for_selector("#v2-signature tbody tr")
        assert _cells(page, "#v2-signature") == [
            ["input", "x", "FP32", "[any, 8]"],
            ["output", "y", "FP32", "[any, 3]"],
        ]
        page.click("#v2-infer")  # the form's example: one row of eight zeros
        page.wait_for_selector("#v2-result tbody tr")
        [[name, datatype, shape, data]] = _cells(page, "#v2-result")
        assert (name, datatype, shape) == ("y", "FP32", "[1, 3]")
        assert len(data.split(", ")) == 3
        _shot(page, "page-v2-own-model")
