"""Alice's `seal` command: directory and archive inputs, metadata, refusals, the CLI."""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import os
import tarfile
from typing import Any

import pytest
from harness_testlib import KEY_A

from harness.sealed import parse_metadata
from infra.__main__ import main as infra_main
from infra.errors import UserError
from infra.model.seal import prepare_onnx, seal_model, tar_directory


class _Sink(io.BytesIO):
    def close(self) -> None:
        pass


def _tar_bytes(directory) -> bytes:
    sink = _Sink()
    tar_directory(directory)(sink)
    return sink.getvalue()


def test_directory_tar_is_deterministic_and_flat(model_dir):
    first = _tar_bytes(model_dir)
    assert first == _tar_bytes(model_dir)
    with tarfile.open(fileobj=io.BytesIO(first)) as tar:
        members = tar.getmembers()
    assert [m.name for m in members] == ["model.json", "model.onnx"]
    assert all(m.mtime == 0 and m.uid == 0 and m.uname == "" for m in members)


def test_seal_directory_records_metadata_in_seed_layout(seal, emulators, model_dir, tmp_path):
    report = seal()
    blob = emulators.blob(report.dest)
    meta = parse_metadata(blob.metadata)
    assert meta.sealed_for == report.dest
    assert meta.kms_key_uri == "gcp-kms://" + KEY_A
    assert meta.kms_key_version == KEY_A + "/cryptoKeyVersions/1"
    # what is sealed is the model prepared for ONNX Runtime (weights in aligned external data)
    prepared = prepare_onnx(model_dir, tmp_path / "prepared", lambda _m: None)
    assert sorted(p.name for p in prepared.iterdir()) == [
        "model.json",
        "model.onnx",
        "model.onnx.data",
    ]
    assert meta.sha256 == report.sha256 == hashlib.sha256(_tar_bytes(prepared)).hexdigest()
    assert meta.size == report.plaintext_bytes < report.ciphertext_bytes == blob.size
    # seed 003: base64 of the Tink JSON {"encryptedKeyset": ..., "keysetInfo": ...}
    doc = json.loads(base64.b64decode(blob.metadata["encryption-key"]))
    assert set(doc) == {"encryptedKeyset", "keysetInfo"}
    assert blob.content_type == "application/octet-stream"
    # the ciphertext does not contain the plaintext
    weights = (prepared / "model.onnx.data").read_bytes()
    assert len(weights) > 4160 and weights[4096:4160] not in blob.download_as_bytes()


def test_seal_archive_streams_it_as_is(seal, emulators, tmp_path, model_dir):
    archive = tmp_path / "model.tar"
    archive.write_bytes(_tar_bytes(model_dir))
    report = seal(source=archive)
    assert report.sha256 == hashlib.sha256(archive.read_bytes()).hexdigest()
    assert report.plaintext_bytes == archive.stat().st_size


def test_sealing_twice_gives_the_same_digest_but_new_keys(seal, emulators):
    a, b = seal(), seal()
    assert a.sha256 == b.sha256
    keysets = [
        json.loads(base64.b64decode(emulators.blob(r.dest).metadata["encryption-key"]))
        for r in (a, b)
    ]
    assert keysets[0]["encryptedKeyset"] != keysets[1]["encryptedKeyset"]


def test_existing_object_needs_replace(seal, emulators):
    report = seal()
    with pytest.raises(UserError, match=r"already exists.*--replace"):
        seal(dest=report.dest)
    replaced = seal(dest=report.dest, replace=True)
    assert replaced.generation != report.generation


@pytest.mark.parametrize("kind", ["gzip", "zip", "text", "missing"])
def test_unsliceable_or_missing_inputs_are_refused(seal, tmp_path, model_dir, kind):
    path = tmp_path / f"model.{kind}"
    if kind == "gzip":
        path.write_bytes(gzip.compress(_tar_bytes(model_dir)))
        message = "gzip-compressed"
    elif kind == "zip":
        path.write_bytes(b"PK\x03\x04" + b"\0" * 600)
        message = "zip archive"
    elif kind == "text":
        path.write_bytes(b"hello world\n" * 100)
        message = r"is not a model: expected a \.onnx file, a directory holding model\.onnx"
    else:
        message = "no such file or directory; expected a .onnx file"
    with pytest.raises(UserError, match=message):
        seal(source=path)


def test_directory_without_model_json_or_with_links_is_refused(seal, tmp_path, model_dir):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "weights.data").write_bytes(b"\0" * 16)
    with pytest.raises(UserError, match=r"has no model\.onnx \(a model\.json card is optional"):
        seal(source=empty)
    linked = tmp_path / "linked"
    linked.mkdir()
    (linked / "model.json").write_bytes((model_dir / "model.json").read_bytes())
    os.symlink(model_dir / "model.json", linked / "weights.data")
    with pytest.raises(UserError, match="only regular files"):
        seal(source=linked)


def test_bad_uris_are_user_errors(seal):
    with pytest.raises(UserError, match="bucket"):
        seal(dest="gs://NOPE/x")
    with pytest.raises(UserError, match=r"not a KMS key URI|gcp-kms://projects/P"):
        seal(key="not-a-key")


def test_unknown_kms_key_is_a_user_error(seal):
    with pytest.raises(UserError, match=r"KMS could not wrap.*NOT_FOUND"):
        seal(key=KEY_A.replace("key-a", "missing"))


def test_no_upload_writes_ciphertext_and_metadata(emulators, model_dir, tmp_path):
    out = tmp_path / "out" / "model.tar.enc"
    report = seal_model(
        model_dir,
        dest="gs://test-models/offline.tar.enc",
        kms_key_uri="gcp-kms://" + KEY_A,
        kms=emulators.kms_client,
        storage=None,
        out=out,
        keyset_out=tmp_path / "tink_key.json",
    )
    assert report.generation is None and out.stat().st_size == report.ciphertext_bytes
    meta = json.loads(out.with_name("model.tar.enc.metadata.json").read_text())
    assert parse_metadata(meta).sha256 == report.sha256
    assert json.loads((tmp_path / "tink_key.json").read_text())["encryptedKeyset"]
    assert emulators.blob("gs://test-models/offline.tar.enc") is None
    with pytest.raises(UserError, match="--out"):
        seal_model(
            model_dir,
            dest="gs://test-models/x",
            kms_key_uri="gcp-kms://" + KEY_A,
            kms=emulators.kms_client,
            storage=None,
        )


def test_cli_seals_through_the_emulators(emulators, model_dir, monkeypatch, capsys):
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", emulators.gcs.endpoint)
    monkeypatch.setenv("KMS_EMULATOR_HOST", emulators.kms.endpoint)
    dest = emulators.unique_uri("cli")
    code = infra_main(
        [
            "seal",
            str(model_dir),
            "--key-uri",
            "gcp-kms://" + KEY_A,
            "--dest",
            dest,
            "--template",
            "AES256_CTR_HMAC_SHA256_1MB",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert f"sealed {dest}" in out
    meta = parse_metadata(emulators.blob(dest).metadata)
    assert "AesCtrHmacStreamingKey" in meta.keyset_json


def test_cli_errors_are_one_line_exit_2(emulators, model_dir, monkeypatch, capsys):
    monkeypatch.setenv("KMS_EMULATOR_HOST", "10.1.2.3:443")
    code = infra_main(
        ["seal", str(model_dir), "--key-uri", "gcp-kms://" + KEY_A, "--dest", "gs://test-models/x"]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: KMS_EMULATOR_HOST=") and "loopback" in err
    assert "Traceback" not in err


def test_cli_template_choices_match_the_format():
    from harness.sealed import DEFAULT_TEMPLATE, TEMPLATES
    from infra.model.seal import TEMPLATE_CHOICES

    assert set(TEMPLATE_CHOICES) == set(TEMPLATES)
    assert TEMPLATE_CHOICES[0] == DEFAULT_TEMPLATE


def test_help_does_not_import_tink():
    import subprocess
    import sys

    from harness_testlib import REPO_ROOT

    code = "import sys; from infra.__main__ import build_parser; build_parser('seal'); print('tink' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


def test_a_lone_onnx_file_is_prepared_and_sealed(seal, emulators, tmp_path):
    """Alice's exported `model.onnx` alone: a card naming its real signature is written."""
    from onnx_testlib import mlp_model

    from harness.loader import model_files
    from harness.sealed import allocate_plaintext

    exported = tmp_path / "classifier.onnx"
    exported.write_bytes(mlp_model().SerializeToString())
    report = seal(source=exported)
    assert report.plaintext_bytes > 0
    prepared = prepare_onnx(exported, tmp_path / "out", lambda _m: None)
    raw = _tar_bytes(prepared)
    assert hashlib.sha256(raw).hexdigest() == report.sha256
    buf = allocate_plaintext(len(raw))
    buf[:] = raw
    files = model_files(buf)
    card = json.loads(bytes(files["model.json"]))
    assert (card["name"], card["inputs"], card["outputs"]) == ("classifier", ["x"], ["y"])


def test_an_invalid_onnx_file_is_a_user_error(seal, tmp_path):
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"not a protobuf at all")
    with pytest.raises(UserError, match=r"broken\.onnx: not a valid ONNX model"):
        seal(source=broken)


def _seal_cli(tmp_path, *args: str) -> Any:
    """`python -m infra seal` as a newcomer runs it: no credentials, no emulators."""
    import subprocess
    import sys

    from harness_testlib import REPO_ROOT

    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "NO_GCE_CHECK": "true"}
    return subprocess.run(
        [sys.executable, "-m", "infra", "seal", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("notauri", "'notauri' is not a KMS key URI; expected gcp-kms://projects/P/locations/"),
        ("corrupt", "broken.onnx: not a valid ONNX model"),
        ("python", "run.py is not a model: expected a .onnx file, a directory holding model.onnx"),
        ("nocreds", "no Google Cloud credentials found"),
    ],
)
def test_seal_checks_inputs_before_credentials_in_one_line(tmp_path, model_dir, case, expected):
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"not a protobuf at all")
    script = tmp_path / "run.py"
    script.write_text("print('hello')\n")
    model = {"corrupt": broken, "python": script}.get(case, model_dir)
    key = "notauri" if case == "notauri" else "gcp-kms://" + KEY_A
    done = _seal_cli(tmp_path, str(model), "--key-uri", key, "--dest", "gs://test-models/x")
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("error: ") and expected in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "Traceback" not in done.stderr
    if case == "nocreds":
        assert "gcloud auth application-default login" in done.stderr
        assert "GOOGLE_APPLICATION_CREDENTIALS" in done.stderr


def test_seal_help_documents_the_offline_route(tmp_path):
    done = _seal_cli(tmp_path, "--help")
    assert done.returncode == 0
    assert "python -m infra.local.kms --key" in done.stdout
    assert "KMS_EMULATOR_HOST=" in done.stdout and "--no-upload --out" in done.stdout
    assert "python -m infra seal MODEL \\\n        --key-uri gcp-kms://" in done.stdout


def test_the_offline_route_of_the_help_works(tmp_path, model_dir):
    """Local KMS in one process, `seal --no-upload` against it, no credentials anywhere."""
    import subprocess
    import sys

    from harness_testlib import REPO_ROOT

    home = tmp_path / "home"
    home.mkdir()
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "NO_GCE_CHECK": "true"}
    kms = subprocess.Popen(
        [sys.executable, "-m", "infra.local.kms", "--key", KEY_A],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = kms.stdout.readline()
        endpoint = line.split("KMS_EMULATOR_HOST=")[1].split(")")[0]
        out = tmp_path / "sealed" / "model.tar.enc"
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "infra",
                "seal",
                str(model_dir),
                "--key-uri",
                "gcp-kms://" + KEY_A,
                "--dest",
                "gs://test-models/offline.tar.enc",
                "--no-upload",
                "--out",
                str(out),
            ],
            cwd=REPO_ROOT,
            env={**env, "KMS_EMULATOR_HOST": endpoint},
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        assert out.stat().st_size > 0 and out.with_name(out.name + ".metadata.json").is_file()
        assert "sealed gs://test-models/offline.tar.enc: sha256 " in done.stdout
    finally:
        kms.terminate()
        kms.wait(timeout=30)
