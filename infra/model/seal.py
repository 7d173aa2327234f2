"""Alice: seal an ONNX model (file or directory) or tar archive with Tink + Cloud KMS, upload it.

    python -m infra seal MODEL --key-uri gcp-kms://projects/P/locations/L/keyRings/R/cryptoKeys/K \\
        --dest gs://BUCKET/OBJECT

MODEL is a `.onnx` file or a directory holding `model.onnx` (optionally its external data
and a `model.json` card): it is first laid out for the harness by `prepare_onnx` (weights
in one aligned external data file, card written or checked against the graph). A model
directory is then tarred on the fly (deterministically: sorted names, zeroed times and
owners, so the same model always has the same SHA-256); an uncompressed `.tar` is streamed
as is (compressed archives are refused because the harness slices the plaintext in memory). A fresh Tink streaming-AEAD keyset encrypts the stream to a local
ciphertext file; KMS wraps the keyset; the object is uploaded with the wrapped keyset in
metadata `encryption-key` (the original tutorial's layout), the plaintext SHA-256 and size, and the key
version. The associated data of both the stream and the keyset is `gs://BUCKET/OBJECT`.
The model is read and encrypted in a stream, so models larger than memory work.

Every input (key URI, destination, template, the model itself) is checked before any
credential is looked up. Credentials: Application Default Credentials, i.e.
`gcloud auth application-default login`, or GOOGLE_APPLICATION_CREDENTIALS naming a service
account key file; without them seal says so in one line.

Offline (no cloud, no credentials): start the local KMS in one terminal,

    python -m infra.local.kms --key projects/P/locations/L/keyRings/R/cryptoKeys/K

then, in another, seal against it and keep the ciphertext instead of uploading it:

    KMS_EMULATOR_HOST=127.0.0.1:<port it printed> python -m infra seal MODEL \\
        --key-uri gcp-kms://projects/P/locations/L/keyRings/R/cryptoKeys/K \\
        --dest gs://BUCKET/OBJECT --no-upload --out build/sealed/model.tar.enc

(`STORAGE_EMULATOR_HOST` would point the upload at fake-gcs-server; `make demo` and
`make serve` do all of this for you. The local KMS keeps keys in memory only, so such a
ciphertext opens only while that KMS process runs.)
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import stat
import tarfile
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra.errors import UserError

# = harness.sealed.TEMPLATES, default first; spelled out so `--help` needs no Tink import
TEMPLATE_CHOICES = (
    "AES256_GCM_HKDF_1MB",
    "AES256_GCM_HKDF_4KB",
    "AES256_CTR_HMAC_SHA256_1MB",
    "AES256_CTR_HMAC_SHA256_4KB",
)
EXPECTED_MODEL = (
    "a .onnx file, a directory holding model.onnx (model.json optional), "
    "or an uncompressed .tar of such a directory"
)
COPY_CHUNK = 1 << 20
UPLOAD_CHUNK = 64 << 20  # resumable upload chunk: bounds the uploader's memory
_GZIP_MAGIC = b"\x1f\x8b"
_OTHER_COMPRESSED = {
    b"BZh": "bzip2",
    b"\xfd7zXZ": "xz",
    b"\x28\xb5\x2f\xfd": "zstd",
    b"PK\x03\x04": "zip",
}


@dataclass(frozen=True)
class SealReport:
    """What was sealed and where; printed by the CLI, used by the demo."""

    dest: str
    generation: str | None
    sha256: str
    plaintext_bytes: int
    ciphertext_bytes: int
    kms_key_uri: str
    kms_key_version: str
    template: str
    ciphertext_file: str | None
    metadata: dict[str, str]


def _check_archive(path: Path) -> None:
    """Refuse what the harness cannot slice: compressed or non-tar files."""
    try:
        with path.open("rb") as fh:
            head = fh.read(512)
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror}") from None
    if head.startswith(_GZIP_MAGIC):
        raise UserError(
            f"{path} is gzip-compressed; the harness slices the plaintext in memory, so seal the "
            "model directory or an uncompressed .tar"
        )
    for magic, kind in _OTHER_COMPRESSED.items():
        if head.startswith(magic):
            raise UserError(
                f"{path} is a {kind} archive; seal the model directory or an uncompressed .tar"
            )
    from harness.tarview import is_tar_header

    if not is_tar_header(head):
        raise UserError(
            f"{path} is not a model: expected {EXPECTED_MODEL} (it is neither .onnx nor a tar archive)"
        )


def check_model_path(source: Path) -> None:
    """The model path is something seal can take, or a UserError saying what is expected."""
    if not source.exists():
        raise UserError(f"{source}: no such file or directory; expected {EXPECTED_MODEL}")
    if source.is_dir():
        if not (source / "model.onnx").is_file() and not (source / "model.json").is_file():
            raise UserError(
                f"{source} has no model.onnx (a model.json card is optional beside it); "
                f"expected {EXPECTED_MODEL}"
            )
        return
    if source.suffix != ".onnx":
        _check_archive(source)


def _model_files(directory: Path) -> list[tuple[str, Path, os.stat_result]]:
    """Regular files under `directory`, sorted; links and special files are refused."""
    files: list[tuple[str, Path, os.stat_result]] = []
    for root, dirs, names in os.walk(directory, followlinks=False):
        dirs.sort()
        for name in sorted(names + [d for d in dirs if (Path(root) / d).is_symlink()]):
            path = Path(root) / name
            st = path.lstat()
            rel = path.relative_to(directory).as_posix()
            if not stat.S_ISREG(st.st_mode):
                raise UserError(
                    f"{path}: only regular files can be sealed (links and special files are refused)"
                )
            files.append((rel, path, st))
    if not any(rel == "model.json" for rel, _, _ in files):
        raise UserError(
            f"{directory} has no model.onnx (a model.json card is optional beside it); "
            f"expected {EXPECTED_MODEL}"
        )
    return files


def tar_directory(directory: Path) -> Callable[[Any], None]:
    """A producer writing a deterministic uncompressed tar of `directory` to a writer."""
    files = _model_files(directory)

    def produce(writer: Any) -> None:
        with tarfile.open(fileobj=writer, mode="w|", format=tarfile.PAX_FORMAT) as tar:
            for rel, path, st in files:
                info = tarfile.TarInfo(rel)
                info.size = st.st_size
                info.mode = 0o644
                info.mtime = 0
                info.uid = info.gid = 0
                info.uname = info.gname = ""
                with path.open("rb") as fh:
                    tar.addfile(info, fh)

    return produce


def copy_file(path: Path) -> Callable[[Any], None]:
    """A producer streaming an archive file as is."""

    def produce(writer: Any) -> None:
        with path.open("rb") as fh:
            while chunk := fh.read(COPY_CHUNK):
                writer.write(chunk)

    return produce


def seal_model(
    source: Path,
    *,
    dest: str,
    kms_key_uri: str,
    kms: Any,
    storage: Any | None,
    template: str | None = None,
    out: Path | None = None,
    keyset_out: Path | None = None,
    replace: bool = False,
    progress: Callable[[str], None] = lambda _msg: None,
    connect: Callable[[], tuple[Any, Any]] | None = None,
) -> SealReport:
    """Seal `source` for `dest` (see module doc). `storage=None` skips the upload (needs `out`).

    `connect`, if given, returns `(kms, storage)` and is called only once every input has
    been checked and the model prepared: a typo is reported before credentials are needed.
    """
    from harness.gcp import KmsAead
    from harness.sealed import DEFAULT_TEMPLATE, SealedMetadata

    template = template or DEFAULT_TEMPLATE
    target, key_name, handle = _parse_inputs(dest, kms_key_uri, template)
    if storage is None and out is None and connect is None:
        raise UserError("--no-upload needs --out FILE for the ciphertext")
    with tempfile.TemporaryDirectory(prefix="seal-") as tmp:
        source = prepare_onnx(source, Path(tmp) / "model", progress)
        produce = _plaintext_stream(source)
        if connect is not None:
            kms, storage = connect()
        if storage is not None and not replace:
            _refuse_existing(storage, target)
        associated_data = target.associated_data()
        kms_aead = KmsAead(kms, key_name)
        keyset_json = _wrapped_keyset(handle, kms_aead, associated_data, keyset_out)
        progress(f"keyset ({template}) wrapped by {kms_aead.last_key_version}")
        ciphertext_path = out or Path(tmp) / "model.tar.enc"
        sha256, size = _encrypt(source, produce, ciphertext_path, handle, associated_data)
        ciphertext_bytes = ciphertext_path.stat().st_size
        progress(
            f"encrypted {size} plaintext bytes -> {ciphertext_bytes} ciphertext bytes (sha256 {sha256})"
        )
        meta = SealedMetadata(
            keyset_json=keyset_json,
            sha256=sha256,
            size=size,
            sealed_for=target.uri,
            kms_key_uri=kms_key_uri,
            kms_key_version=kms_aead.last_key_version,
            sealed_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        )
        generation = _publish(
            storage, target, ciphertext_path, out, meta.to_gcs(), replace, progress
        )
    return SealReport(
        dest=target.uri,
        generation=generation,
        sha256=sha256,
        plaintext_bytes=size,
        ciphertext_bytes=ciphertext_bytes,
        kms_key_uri=kms_key_uri,
        kms_key_version=kms_aead.last_key_version,
        template=template,
        ciphertext_file=str(out) if out else None,
        metadata=meta.to_gcs(),
    )


def _parse_inputs(dest: str, kms_key_uri: str, template: str) -> tuple[Any, Any, Any]:
    """(GCS target, KMS key name, a fresh Tink keyset handle), or a UserError naming the input."""
    from harness.sealed import SealedFormatError, new_keyset, parse_gcs_uri, parse_kms_key_uri

    try:
        return parse_gcs_uri(dest), parse_kms_key_uri(kms_key_uri), new_keyset(template)
    except SealedFormatError as exc:
        raise UserError(str(exc)) from None


def prepare_onnx(source: Path, work_dir: Path, progress: Callable[[str], None]) -> Path:
    """An ONNX model (a `.onnx` file, or a directory with `model.onnx`) laid out for the harness.

    `infra.model.onnx_pack.prepare` writes `model.onnx` (graph only), `model.onnx.data` (the
    weights, 4 KiB aligned, so the harness maps them without a copy) and a checked
    `model.json` into `work_dir`, a temporary directory on the sealer's own disk (which
    already holds the model in the clear) that is deleted after sealing. Anything else
    (a `.tar`, a directory without `model.onnx`) is sealed as given.
    """
    check_model_path(source)
    is_onnx_dir = source.is_dir() and (source / "model.onnx").is_file()
    if not (is_onnx_dir or (source.is_file() and source.suffix == ".onnx")):
        return source
    from infra.model.onnx_pack import prepare

    try:
        prepared = prepare(source, work_dir)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    progress(f"prepared {source} for ONNX Runtime (weights in an aligned external data file)")
    return prepared


def _plaintext_stream(source: Path) -> Callable[[Any], None]:
    """A model directory is tarred on the fly; an archive is checked, then copied."""
    if source.is_dir():
        return tar_directory(source)
    if source.is_file():
        _check_archive(source)
        return copy_file(source)
    raise UserError(f"{source}: no such model directory or archive")


def _refuse_existing(storage: Any, target: Any) -> None:
    """Never overwrite a sealed model by accident: the harness may be serving it."""
    try:
        existing = storage.bucket(target.bucket).get_blob(target.name)
    except Exception as exc:
        raise UserError(f"cannot reach {target.bucket}: {type(exc).__name__}: {exc}") from None
    if existing is not None:
        raise UserError(
            f"{target} already exists (generation {existing.generation}); pass --replace to overwrite"
        )


def _wrapped_keyset(
    handle: Any, kms_aead: Any, associated_data: bytes, keyset_out: Path | None
) -> str:
    """The Tink keyset wrapped by Cloud KMS (optionally also written, still wrapped, to a file)."""
    import tink

    from harness.sealed import wrap_keyset

    try:
        keyset_json = wrap_keyset(handle, kms_aead, associated_data)
    except tink.TinkError as exc:
        raise UserError(f"KMS could not wrap the keyset: {exc}") from None
    if keyset_out is not None:
        keyset_out.parent.mkdir(parents=True, exist_ok=True)
        keyset_out.write_text(json.dumps(json.loads(keyset_json), indent=2) + "\n")
    return keyset_json


def _encrypt(
    source: Path,
    produce: Callable[[Any], None],
    ciphertext_path: Path,
    handle: Any,
    associated_data: bytes,
) -> tuple[str, int]:
    """Stream the plaintext through Tink into `ciphertext_path`; (plaintext sha256, size)."""
    from harness.sealed import SealedFormatError, encrypt_stream, streaming_primitive

    ciphertext_path.parent.mkdir(parents=True, exist_ok=True)
    with ciphertext_path.open("wb") as dest_file:
        try:
            return encrypt_stream(produce, dest_file, streaming_primitive(handle), associated_data)
        except SealedFormatError as exc:
            raise UserError(f"{source}: {exc}") from None
        except OSError as exc:
            raise UserError(f"reading {source} failed: {exc}") from None


def _publish(
    storage: Any | None,
    target: Any,
    ciphertext_path: Path,
    out: Path | None,
    metadata: dict[str, str],
    replace: bool,
    progress: Callable[[str], None],
) -> str | None:
    """Upload (the object's generation), or with --no-upload write the metadata next to `out`."""
    if storage is None:
        assert out is not None
        meta_path = out.with_name(out.name + ".metadata.json")
        meta_path.write_text(json.dumps(metadata, indent=2) + "\n")
        progress(f"not uploaded; ciphertext {out}, object metadata {meta_path}")
        return None
    generation = _upload(storage, target, ciphertext_path, metadata, replace)
    progress(f"uploaded {target} (generation {generation})")
    return generation


def _upload(
    storage: Any, target: Any, ciphertext_path: Path, metadata: dict[str, str], replace: bool
) -> str:
    """Upload with the metadata; without --replace only if the object does not exist yet."""
    blob = storage.bucket(target.bucket).blob(target.name, chunk_size=UPLOAD_CHUNK)
    blob.metadata = metadata
    try:
        blob.upload_from_filename(
            str(ciphertext_path),
            content_type="application/octet-stream",
            if_generation_match=None if replace else 0,
        )
    except Exception as exc:
        raise UserError(f"upload to {target} failed: {type(exc).__name__}: {exc}") from None
    return str(blob.generation)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "model",
        type=Path,
        help="a .onnx file, a model directory (model.onnx [+ model.json]) or an uncompressed .tar",
    )
    parser.add_argument(
        "--key-uri", required=True, help="gcp-kms://projects/P/locations/L/keyRings/R/cryptoKeys/K"
    )
    parser.add_argument(
        "--dest", required=True, help="gs://BUCKET/OBJECT to upload to (also the associated data)"
    )
    parser.add_argument(
        "--template",
        choices=TEMPLATE_CHOICES,
        default=TEMPLATE_CHOICES[0],
        help="Tink streaming AEAD template",
    )
    parser.add_argument("--out", type=Path, help="also keep the ciphertext in this file")
    parser.add_argument(
        "--keyset-out",
        type=Path,
        help="write the KMS-wrapped keyset JSON here (seed 003's tink_key.json)",
    )
    parser.add_argument("--replace", action="store_true", help="overwrite an existing object")
    parser.add_argument(
        "--no-upload", action="store_true", help="only write --out and its .metadata.json"
    )


NO_CREDENTIALS = (
    "no Google Cloud credentials found (seal calls Cloud KMS and Cloud Storage as you): run "
    "`gcloud auth application-default login`, or set GOOGLE_APPLICATION_CREDENTIALS to a "
    "service account key file; to seal offline instead, see `python -m infra seal --help`"
)


def _require_credentials() -> None:
    """Application Default Credentials exist, or one line saying how to get them."""
    import google.auth
    from google.auth.exceptions import DefaultCredentialsError

    try:
        google.auth.default(scopes=["https://www.googleapis.com/auth/cloud-platform"])
    except DefaultCredentialsError:
        raise UserError(NO_CREDENTIALS) from None


def run(args: argparse.Namespace) -> int:
    import warnings

    warnings.filterwarnings("ignore", category=FutureWarning, module=r"google\.")
    from google.auth.exceptions import GoogleAuthError

    from harness.gcp import emulators_from_env, kms_client, storage_client

    try:
        storage_emulator, kms_emulator = emulators_from_env()
    except ValueError as exc:
        raise UserError(str(exc)) from None
    if args.no_upload and args.out is None:
        raise UserError("--no-upload needs --out FILE for the ciphertext")

    def connect() -> tuple[Any, Any]:
        if kms_emulator is None or (storage_emulator is None and not args.no_upload):
            _require_credentials()
        storage = None if args.no_upload else storage_client(storage_emulator)
        return kms_client(kms_emulator), storage

    try:
        report = seal_model(
            args.model,
            dest=args.dest,
            kms_key_uri=args.key_uri,
            kms=None,
            storage=None,
            template=args.template,
            out=args.out,
            keyset_out=args.keyset_out,
            replace=args.replace,
            progress=lambda msg: print(msg, flush=True),
            connect=connect,
        )
    except GoogleAuthError as exc:  # e.g. expired user credentials, found but refused
        raise UserError(f"Google Cloud refused the credentials: {exc}; {NO_CREDENTIALS}") from None
    print(
        f"sealed {report.dest}: sha256 {report.sha256}, {report.plaintext_bytes} bytes, key {report.kms_key_version}"
    )
    if report.ciphertext_file:
        print(config_block(report))
    return 0


def config_block(report: SealReport) -> str:
    """The `gke-sandbox:model.sealed` block that lets the model stack manage this object."""
    import yaml

    block = {"sealed": {"source": report.ciphertext_file, "metadata": report.metadata}}
    body = yaml.safe_dump(block, sort_keys=False, width=10_000)
    indented = "".join(f"    {line}\n" for line in body.splitlines())
    return (
        "\n# To let `pulumi up -s model` manage this object, add under gke-sandbox:model in "
        "Pulumi.<stack>.yaml:\n" + indented
    )
