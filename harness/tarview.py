"""A zero-copy reader for uncompressed tar archives held in memory.

The sealed plaintext is a plain tar so the harness can slice its members straight out of
the decrypted buffer (`memoryview`, no copy, no temp files). `tarfile` would copy every
member through `extractfile`, so this reads the headers itself: ustar, POSIX pax (`x`
records for long paths and sizes) and GNU long names. Members start on 512-byte
boundaries, which keeps float32 arrays aligned for `np.frombuffer`.
"""

from __future__ import annotations

from dataclasses import dataclass

BLOCK = 512
_REGULAR = (b"0", b"\0", b"7")
_DIRECTORY = b"5"
_PAX_LOCAL = b"x"
_PAX_GLOBAL = b"g"
_GNU_LONGNAME = b"L"
_MAX_META_BYTES = 1 << 20


class TarFormatError(ValueError):
    """The buffer is not a well-formed uncompressed tar archive (says where)."""


@dataclass(frozen=True)
class Member:
    """A regular file inside the archive: its data is `buf[offset:offset + size]`."""

    name: str
    offset: int
    size: int


def _octal(field: memoryview, what: str, at: int) -> int:
    raw = bytes(field)
    if raw and raw[0] & 0x80:  # GNU base-256 for sizes >= 8 GiB
        value = int.from_bytes(raw[1:], "big")
        return value
    text = raw.split(b"\0", 1)[0].strip(b" ")
    if not text:
        return 0
    try:
        return int(text, 8)
    except ValueError:
        raise TarFormatError(f"tar header at byte {at}: {what} field is not octal") from None


def _checksum_ok(header: memoryview, at: int) -> bool:
    stored = _octal(header[148:156], "checksum", at)
    raw = bytes(header)
    unsigned = sum(raw[:148]) + 8 * 0x20 + sum(raw[156:])
    if stored == unsigned:
        return True
    signed = unsigned - 256 * sum(1 for b in raw[:148] + raw[156:] if b > 127)
    return stored == signed


def is_tar_header(block: bytes) -> bool:
    """Whether a 512-byte block is a valid tar header (checksum and all)."""
    if len(block) < BLOCK or not any(block[:BLOCK]):
        return False
    try:
        return _checksum_ok(memoryview(block[:BLOCK]), 0)
    except TarFormatError:
        return False


def _text(field: memoryview, what: str, at: int) -> str:
    try:
        return bytes(field).split(b"\0", 1)[0].decode("utf-8")
    except UnicodeDecodeError:
        raise TarFormatError(f"tar header at byte {at}: {what} is not UTF-8") from None


def _pax_records(data: memoryview, at: int) -> dict[str, str]:
    """Parse `<len> <key>=<value>\\n` records (POSIX.1-2001)."""
    records: dict[str, str] = {}
    raw = bytes(data)
    pos = 0
    while pos < len(raw):
        space = raw.find(b" ", pos)
        if space < 0:
            raise TarFormatError(f"pax header at byte {at}: malformed record")
        try:
            length = int(raw[pos:space])
        except ValueError:
            raise TarFormatError(f"pax header at byte {at}: malformed record length") from None
        if length <= space - pos or pos + length > len(raw):
            raise TarFormatError(f"pax header at byte {at}: record overruns the header")
        record = raw[space + 1 : pos + length]
        if not record.endswith(b"\n") or b"=" not in record:
            raise TarFormatError(f"pax header at byte {at}: malformed record")
        key, _, value = record[:-1].partition(b"=")
        try:
            records[key.decode("utf-8")] = value.decode("utf-8")
        except UnicodeDecodeError:
            raise TarFormatError(f"pax header at byte {at}: record is not UTF-8") from None
        pos += length
    return records


def _normalise(name: str, at: int) -> str:
    while name.startswith("./"):
        name = name[2:]
    name = name.rstrip("/")
    parts = name.split("/")
    if name.startswith("/") or ".." in parts:
        raise TarFormatError(f"tar member at byte {at}: unsafe path {name!r}")
    return name


def list_members(buf: memoryview | bytes | bytearray) -> dict[str, Member]:
    """Every regular file of the archive by normalised path; duplicates are refused."""
    view = memoryview(buf).cast("B")
    members: dict[str, Member] = {}
    pos = 0
    pending_name: str | None = None
    pending_size: int | None = None
    total = len(view)
    while True:
        if pos + BLOCK > total:
            raise TarFormatError(f"tar archive truncated at byte {pos} (no end-of-archive marker)")
        header = view[pos : pos + BLOCK]
        if not any(header):
            return members
        if not _checksum_ok(header, pos):
            raise TarFormatError(
                f"tar header at byte {pos}: checksum mismatch (not a tar archive?)"
            )
        typeflag = bytes(header[156:157])
        size = _octal(header[124:136], "size", pos)
        data_at = pos + BLOCK
        if pending_size is not None and typeflag not in (_PAX_LOCAL, _PAX_GLOBAL, _GNU_LONGNAME):
            size = pending_size
        if data_at + size > total:
            raise TarFormatError(f"tar member at byte {pos}: {size} bytes overrun the archive")
        data = view[data_at : data_at + size]
        next_pos = data_at + (size + BLOCK - 1) // BLOCK * BLOCK
        if typeflag in (_PAX_LOCAL, _GNU_LONGNAME, _PAX_GLOBAL) and size > _MAX_META_BYTES:
            raise TarFormatError(
                f"tar header at byte {pos}: {size}-byte metadata record is too large"
            )
        if typeflag == _PAX_LOCAL:
            records = _pax_records(data, pos)
            pending_name = records.get("path", pending_name)
            if "size" in records:
                try:
                    pending_size = int(records["size"])
                except ValueError:
                    raise TarFormatError(
                        f"pax header at byte {pos}: size is not an integer"
                    ) from None
        elif typeflag == _GNU_LONGNAME:
            try:
                pending_name = bytes(data).split(b"\0", 1)[0].decode("utf-8")
            except UnicodeDecodeError:
                raise TarFormatError(f"GNU long name at byte {pos}: not UTF-8") from None
        elif typeflag == _PAX_GLOBAL:
            pass
        else:
            if pending_name is not None:
                name = pending_name
            else:
                name = _text(header[0:100], "name", pos)
                if bytes(header[257:262]) == b"ustar":
                    prefix = _text(header[345:500], "prefix", pos)
                    if prefix:
                        name = f"{prefix}/{name}"
            pending_name = None
            pending_size = None
            if typeflag in _REGULAR:
                name = _normalise(name, pos)
                if name in members:
                    raise TarFormatError(f"tar archive: member {name!r} appears twice")
                members[name] = Member(name=name, offset=data_at, size=size)
            elif typeflag != _DIRECTORY:
                pass  # links, devices, fifos: never part of a model, never resolved
        pos = next_pos
