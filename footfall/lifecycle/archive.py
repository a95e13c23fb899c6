"""The backup archive: a tar stream with its manifest first, every file checksummed.

Layout (``footfall backup`` writes it, ``footfall restore`` reads it)::

    manifest.json            what is inside: versions, counts per site, each file's SHA-256
    events/...               the event store's snapshot (its backend's own files)
    meta/meta.sqlite3        the metadata database, salts left out (or meta/meta.pgdump)

The manifest comes first so that a restore checks versions before it reads anything else, and
the archive is a plain uncompressed tar (the Parquet files inside are compressed already), so
it can be written to a pipe and read from one: nothing needs to seek.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import tarfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from footfall.errors import InvalidInputError

FORMAT = "footfall-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
_CHUNK = 1 << 20
# A manifest is a few kilobytes; anything far larger is not one.
_MAX_MANIFEST_BYTES = 16 << 20

Progress = Callable[[int], None]


class ArchiveError(InvalidInputError):
    """The archive is not a footfall backup, is damaged, or cannot be restored here."""


@dataclass(frozen=True, slots=True)
class Entry:
    """One file of the archive as the manifest lists it."""

    name: str
    size: int
    sha256: str

    def as_json(self) -> dict[str, Any]:
        """The manifest's record of the file."""
        return {"name": self.name, "bytes": self.size, "sha256": self.sha256}


def digest(path: Path) -> Entry:
    """A file's size and SHA-256, under the name it has relative to its staging directory."""
    sha = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            sha.update(chunk)
            size += len(chunk)
    return Entry(name=path.name, size=size, sha256=sha.hexdigest())


def entries_of(staging: Path, names: list[str]) -> list[Entry]:
    """The manifest entries of the files `names` (relative to `staging`)."""
    found = []
    for name in names:
        entry = digest(staging / name)
        found.append(Entry(name=name, size=entry.size, sha256=entry.sha256))
    return found


def archive_size(manifest: dict[str, Any]) -> int:
    """The exact size of the tar `write_archive` makes for this manifest."""
    blocks = 512 + _padded(len(_manifest_bytes(manifest)))
    for item in manifest["files"]:
        blocks += 512 + _padded(int(item["bytes"]))
    return blocks + 1024 + _tail_padding(blocks + 1024)


def _padded(size: int) -> int:
    return (size + 511) // 512 * 512


def _tail_padding(size: int) -> int:
    # tarfile pads the stream to whole records of 20 blocks.
    record = tarfile.RECORDSIZE
    return (record - size % record) % record


def _manifest_bytes(manifest: dict[str, Any]) -> bytes:
    return json.dumps(manifest, indent=2, sort_keys=True).encode()


def write_archive(
    manifest: dict[str, Any], staging: Path, out: IO[bytes], progress: Progress | None = None
) -> int:
    """Writes the manifest, then every file it lists from `staging`, as a tar stream to `out`.

    Returns:
        The bytes written.

    Raises:
        OSError: Reading a file or writing `out` failed (the stream is then incomplete).
    """
    counter = _Counting(out, progress)
    with tarfile.open(fileobj=counter, mode="w|", format=tarfile.USTAR_FORMAT) as tar:
        data = _manifest_bytes(manifest)
        info = tarfile.TarInfo(MANIFEST)
        info.size = len(data)
        info.mode = 0o600
        tar.addfile(info, io.BytesIO(data))
        for item in manifest["files"]:
            path = staging / item["name"]
            info = tarfile.TarInfo(item["name"])
            info.size = int(item["bytes"])
            info.mode = 0o600
            with path.open("rb") as handle:
                tar.addfile(info, handle)
    return counter.written


class _Counting(io.RawIOBase):
    """A write-only stream that counts (and reports) what passes through to `out`."""

    def __init__(self, out: IO[bytes], progress: Progress | None) -> None:
        self._out = out
        self._progress = progress
        self.written = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        view = memoryview(data)
        self._out.write(view)
        self.written += len(view)
        if self._progress is not None:
            self._progress(len(view))
        return len(view)


@dataclass
class Reader:
    """Reads an archive as a stream: the manifest first, then each file, checked on the way."""

    source: IO[bytes]

    def __post_init__(self) -> None:
        try:
            self._tar = tarfile.open(fileobj=self.source, mode="r|")  # noqa: SIM115 (read lazily)
        except tarfile.TarError as exc:
            raise ArchiveError(f"not a footfall backup (not a tar archive: {exc})") from exc
        self._members = iter(self._tar)

    def manifest(self) -> dict[str, Any]:
        """The manifest, checked for its format.

        Raises:
            ArchiveError: The first member is not a manifest footfall can read.
        """
        member = self._next()
        if member is None or member.name != MANIFEST or not member.isfile():
            raise ArchiveError("not a footfall backup: it does not start with manifest.json")
        if member.size > _MAX_MANIFEST_BYTES:
            raise ArchiveError("not a footfall backup: its manifest is far too large")
        handle = self._tar.extractfile(member)
        try:
            manifest = json.loads(handle.read() if handle is not None else b"")
        except (ValueError, tarfile.TarError, OSError) as exc:
            raise ArchiveError(f"the backup's manifest is damaged: {exc}") from exc
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise ArchiveError("not a footfall backup: its manifest names another format")
        version = manifest.get("format_version")
        if not isinstance(version, int) or version > FORMAT_VERSION:
            raise ArchiveError(
                f"the backup has format version {version}, made by a newer footfall than this "
                f"one (which reads up to {FORMAT_VERSION}): restore it with that release"
            )
        files = manifest.get("files")
        if not isinstance(files, list) or not all(_valid_item(item) for item in files):
            raise ArchiveError("the backup's manifest is damaged: its file list is malformed")
        return manifest

    def extract(
        self, manifest: dict[str, Any], staging: Path | None, progress: Progress | None
    ) -> None:
        """Writes every file the manifest lists into `staging`, checking size and SHA-256.

        With `staging` None, only checks them.

        Raises:
            ArchiveError: A file is missing, unexpected, of another size or checksum, or the
                archive ends early.
        """
        expected = {item["name"]: item for item in manifest["files"]}
        seen: set[str] = set()
        while (member := self._next()) is not None:
            item = expected.get(member.name)
            if item is None or member.name in seen or not member.isfile():
                raise ArchiveError(f"the backup holds {member.name!r}, which its manifest lacks")
            seen.add(member.name)
            if member.size != item["bytes"]:
                raise ArchiveError(f"{member.name} in the backup is damaged: its size differs")
            handle = self._tar.extractfile(member)
            if handle is None:
                raise ArchiveError(f"{member.name} in the backup cannot be read")
            sha = hashlib.sha256()
            try:
                with contextlib.ExitStack() as stack:
                    out = None
                    if staging is not None:
                        target = staging / member.name
                        target.parent.mkdir(parents=True, exist_ok=True)
                        out = stack.enter_context(target.open("wb"))
                    for chunk in _chunks(handle):
                        sha.update(chunk)
                        if out is not None:
                            out.write(chunk)
                        if progress is not None:
                            progress(len(chunk))
            except tarfile.TarError as exc:
                raise ArchiveError(f"the backup is damaged or cut short: {exc}") from exc
            if sha.hexdigest() != item["sha256"]:
                raise ArchiveError(
                    f"{member.name} in the backup is damaged: its SHA-256 does not match the "
                    "manifest"
                )
        missing = sorted(set(expected) - seen)
        if missing:
            raise ArchiveError(f"the backup is incomplete: {', '.join(missing)} missing")

    def _next(self) -> tarfile.TarInfo | None:
        try:
            return next(self._members, None)
        except (tarfile.TarError, EOFError, OSError) as exc:
            raise ArchiveError(f"the backup is damaged or cut short: {exc}") from exc


def verify(source: IO[bytes]) -> dict[str, Any]:
    """Reads a whole archive, checking every file against its manifest; returns the manifest.

    Raises:
        ArchiveError: It is not a footfall backup, or is damaged or incomplete.
    """
    reader = Reader(source)
    manifest = reader.manifest()
    reader.extract(manifest, None, None)
    return manifest


def _chunks(handle: IO[bytes]) -> Iterator[bytes]:
    try:
        while chunk := handle.read(_CHUNK):
            yield chunk
    except (EOFError, OSError) as exc:
        raise ArchiveError(f"the backup is damaged or cut short: {exc}") from exc


def _valid_item(item: object) -> bool:
    if not isinstance(item, dict):
        return False
    name, size, sha = item.get("name"), item.get("bytes"), item.get("sha256")
    if not (isinstance(name, str) and isinstance(size, int) and isinstance(sha, str)):
        return False
    parts = name.split("/")
    # Only plain relative names: nothing may be written outside the staging directory.
    return bool(name) and not name.startswith("/") and ".." not in parts and "" not in parts
