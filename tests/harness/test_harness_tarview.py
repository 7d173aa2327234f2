"""The zero-copy tar reader against archives written by Python's tarfile (and damaged ones)."""

from __future__ import annotations

import io
import tarfile

import pytest

from harness.tarview import TarFormatError, is_tar_header, list_members


def _tar(
    members: dict[str, bytes],
    fmt: int = tarfile.PAX_FORMAT,
    extra: list[tarfile.TarInfo] | None = None,
) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=fmt) as tar:
        for info in extra or []:
            tar.addfile(info)
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


@pytest.mark.parametrize("fmt", [tarfile.USTAR_FORMAT, tarfile.GNU_FORMAT, tarfile.PAX_FORMAT])
def test_members_are_sliced_in_place(fmt):
    members = {"model.json": b'{"a": 1}', "dir/weights.bin": bytes(range(256)) * 5, "empty": b""}
    raw = bytearray(_tar(members, fmt))
    found = list_members(raw)
    assert set(found) == set(members)
    for name, data in members.items():
        m = found[name]
        assert m.offset % 512 == 0
        assert raw[m.offset : m.offset + m.size] == data


@pytest.mark.parametrize("fmt", [tarfile.GNU_FORMAT, tarfile.PAX_FORMAT])
def test_long_and_unicode_names(fmt):
    long_name = "deep/" * 40 + "weights.bin"
    members = {long_name: b"x" * 700, "caf\u00e9/model.json": b"{}"}
    found = list_members(_tar(members, fmt))
    assert found[long_name].size == 700
    assert "caf\u00e9/model.json" in found


def test_directories_and_links_are_not_members():
    d = tarfile.TarInfo("sub")
    d.type = tarfile.DIRTYPE
    link = tarfile.TarInfo("link")
    link.type = tarfile.SYMTYPE
    link.linkname = "/etc/passwd"
    found = list_members(_tar({"sub/a": b"1"}, extra=[d, link]))
    assert set(found) == {"sub/a"}


def test_leading_dot_slash_is_normalised():
    assert set(list_members(_tar({"./model.json": b"{}"}))) == {"model.json"}


def test_duplicates_are_refused():
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        for content in (b"a", b"b"):
            info = tarfile.TarInfo("model.json")
            info.size = 1
            tar.addfile(info, io.BytesIO(content))
    with pytest.raises(TarFormatError, match="appears twice"):
        list_members(out.getvalue())


@pytest.mark.parametrize("name", ["../escape", "/abs/path", "a/../../b"])
def test_unsafe_paths_are_refused(name):
    with pytest.raises(TarFormatError, match="unsafe path"):
        list_members(_tar({name: b"x"}, tarfile.GNU_FORMAT))


def test_damage_is_detected():
    raw = bytearray(_tar({"model.json": b"{}" * 300}))
    bad_checksum = bytearray(raw)
    bad_checksum[10] ^= 0x20
    with pytest.raises(TarFormatError, match="checksum"):
        list_members(bad_checksum)
    with pytest.raises(TarFormatError, match=r"truncated|overrun"):
        list_members(raw[:700])
    with pytest.raises(TarFormatError):
        list_members(b"not a tar archive at all" * 30)


def test_is_tar_header():
    raw = _tar({"a": b"1"})
    assert is_tar_header(raw[:512])
    assert not is_tar_header(b"\0" * 512)
    assert not is_tar_header(b"\x1f\x8b" + b"\0" * 510)
    assert not is_tar_header(b"short")
