"""The `file` step's storage: paths confined to one root, through Django's storage API.

A local directory (FLOWPILOT_FILES_ROOT, a FileSystemStorage) by default, or any storage named in
STORAGES (FLOWPILOT_FILES_STORAGE, e.g. S3 through django-storages). Every path is checked twice:
lexically (`clean_path`: no `..`, no absolute path, no backslash, NUL or control character), and, on
a local directory, against the real paths (a symlink inside the root, or a symlinked parent, that
leads outside it is refused), so that nothing outside the root is ever read, written or deleted.

Side effects are safe to repeat, because a crashed attempt is retried:

- write: atomic (a temporary file in the same directory, then a rename) on a local directory; a write
  of the content the file already holds changes nothing.
- append: made idempotent by the attempt's idempotency key. Before appending, a marker (under the
  reserved `.flowpilot/append/` prefix, hidden from list) records the key, the offset the bytes go
  to, their length and hash; a retry with the same key whose bytes are found at that offset appends
  nothing. A crash between the marker and the append leaves a marker whose bytes are not there: the
  retry appends them. On a local directory the marker and the append happen under an exclusive lock
  on the file (flock), so runs appending to one file at once do not interleave. An object store
  (S3...) has no append: the object is read and written whole (bounded by the size limit), and two
  runs appending to one object at the same moment may lose one of the two appends.
- delete: a missing file answers deleted=false (so a retry after a crash answers false).

What remains: a local path is checked, then opened; a symlink swapped into the root between the two
by someone with write access to it could redirect one operation. The final component is opened with
O_NOFOLLOW, which closes that gap for the file itself, not for its parents.
"""

from __future__ import annotations

import base64
import binascii
import errno
import fcntl
import hashlib
import json
import os
import posixpath
import stat
import tempfile
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, InvalidStorageError, Storage, storages

MAX_PATH_CHARS = 1024
MAX_SEGMENT_CHARS = 255
RESERVED = ".flowpilot"  # the first segment of FlowPilot's own markers: no user path may use it
TEMP_SUFFIX = ".flowpilot-tmp"
MARKER_TTL_SECONDS = 7 * 86400  # append markers older than this are removed when the file is appended to again
MAX_MARKERS_PRUNED = 100  # per append


class FileError(Exception):
    """An operation failed; `retryable` says whether trying again may help (the step turns this
    into a StepError at one seam)."""

    def __init__(self, message: str, *, retryable: bool = False, details: dict | None = None):
        super().__init__(message)
        self.message = message
        self.retryable = retryable
        self.details = details or {}


class PathRefused(FileError):
    """A path that could leave the files root, or that no storage could hold."""

    def __init__(self, message: str):
        super().__init__(message, retryable=False, details={"reason": "path_refused"})


def clean_path(path: object, *, directory: bool = False) -> str:
    """The path, checked to stay inside the root: relative, `/`-separated, no `..`, `.` or empty
    segment, no backslash, NUL or control character. `directory`: "" (the root) and a trailing
    `/` are allowed (list)."""
    if not isinstance(path, str):
        raise PathRefused(f"path must be a string, not {type(path).__name__}")
    shown = repr(path if len(path) <= 80 else path[:80] + "...")
    if len(path) > MAX_PATH_CHARS:
        raise PathRefused(f"path is {len(path)} characters; the limit is {MAX_PATH_CHARS}")
    if "\x00" in path:
        raise PathRefused(f"path {shown} contains a NUL byte")
    if any(ord(c) < 32 or ord(c) == 127 for c in path):
        raise PathRefused(f"path {shown} contains a control character")
    if "\\" in path:
        raise PathRefused(f"path {shown} contains a backslash; separate directories with /")
    if path.startswith("/"):
        raise PathRefused(f"path {shown} is absolute; give a path relative to the files root")
    if directory:
        path = path.rstrip("/")
        if path == "":
            return ""
    elif path == "":
        raise PathRefused("path is empty")
    segments = path.split("/")
    for segment in segments:
        if segment == "..":
            raise PathRefused(f"path {shown} contains '..'; paths stay inside the files root")
        if segment == ".":
            raise PathRefused(f"path {shown} contains a '.' segment")
        if segment == "":
            raise PathRefused(f"path {shown} contains an empty segment (// or a trailing /)")
        if len(segment.encode()) > MAX_SEGMENT_CHARS:
            raise PathRefused(f"path {shown} has a name longer than {MAX_SEGMENT_CHARS} bytes")
    if segments[0] == RESERVED:
        raise PathRefused(f"path {shown}: {RESERVED}/ is reserved for FlowPilot's own markers")
    return path


def to_bytes(content: object, encoding: str) -> bytes:
    """What write/append store: a string in the encoding (base64 is decoded), anything else as JSON."""
    if isinstance(content, str):
        if encoding == "base64":
            try:
                return base64.b64decode(content.encode("ascii"), validate=True)
            except (binascii.Error, UnicodeEncodeError):
                raise FileError("content is not valid base64", retryable=False) from None
        return content.encode("utf-8")
    if encoding == "base64":
        raise FileError("content must be a base64 string when encoding is base64", retryable=False)
    return json.dumps(content, ensure_ascii=False).encode("utf-8")


def from_bytes(data: bytes, encoding: str, path: str) -> str:
    if encoding == "base64":
        return base64.b64encode(data).decode("ascii")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise FileError(f"{path!r} is not valid UTF-8 text; read it with \"encoding\": \"base64\"",
                        retryable=False) from None


@dataclass(frozen=True)
class Entry:
    name: str
    type: str  # "file", "directory" or "other" (a symlink, a socket...)
    size: int | None

    def as_dict(self) -> dict:
        return {"name": self.name, "type": self.type, "size": self.size}


def too_large(path: str, size: int, limit: int) -> FileError:
    return FileError(f"{path!r} is {size} bytes; the limit is {limit}", retryable=False,
                     details={"size": size, "limit": limit})


def not_found(path: str, what: str = "file") -> FileError:
    return FileError(f"no {what} {path!r} in the files root", retryable=False, details={"path": path})


def _marker_name(path: str, key: str) -> str:
    by_path = hashlib.sha256(path.encode()).hexdigest()[:32]
    return f"{RESERVED}/append/{by_path}/{hashlib.sha256(key.encode()).hexdigest()[:40]}.json"


def _marker_dir(path: str) -> str:
    return f"{RESERVED}/append/{hashlib.sha256(path.encode()).hexdigest()[:32]}"


def _marker(key: str, offset: int, data: bytes) -> bytes:
    return json.dumps({"key": key, "offset": offset, "length": len(data),
                       "sha256": hashlib.sha256(data).hexdigest()}).encode()


def _done_before(marker: dict | None, key: str, data: bytes, read_at) -> bool:
    """Whether the marker says this key's bytes were appended, and they are where it says."""
    if not marker or marker.get("key") != key or marker.get("sha256") != hashlib.sha256(data).hexdigest():
        return False
    offset, length = marker.get("offset"), marker.get("length")
    if not isinstance(offset, int) or length != len(data):
        return False
    return read_at(offset, length) == data


class Files(ABC):
    """One root of files: a local directory (LocalFiles) or any other Django storage (StorageFiles).
    Paths given to it have passed clean_path."""

    @abstractmethod
    def read(self, path: str, *, max_bytes: int) -> bytes:
        """The file's bytes; FileError if it is missing or larger than max_bytes."""

    @abstractmethod
    def write(self, path: str, data: bytes) -> int:
        """Replace the file (creating its directories); the same content again changes nothing."""

    @abstractmethod
    def append(self, path: str, data: bytes, *, key: str, max_bytes: int) -> int:
        """Append once per key (a retry with the same key appends nothing); answers the file's size."""

    @abstractmethod
    def list(self, path: str, *, max_entries: int) -> tuple[list[Entry], bool]:
        """A directory's entries sorted by name, at most max_entries, and whether there were more."""

    @abstractmethod
    def delete(self, path: str) -> bool:
        """Remove the file; False if it was not there."""


class LocalFiles(Files):
    """A directory on this machine (a FileSystemStorage's location), real paths checked."""

    def __init__(self, location: str):
        self.location = os.path.abspath(location)
        os.makedirs(self.location, exist_ok=True)
        self.root = os.path.realpath(self.location)

    def _real(self, path: str) -> str:
        """The real path of `path` (symlinks resolved, in the parents too), refused outside the root."""
        real = os.path.realpath(os.path.join(self.root, path)) if path else self.root
        if real != self.root and not real.startswith(self.root + os.sep):
            raise PathRefused(f"path {path!r} leads outside the files root (through a symlink)")
        return real

    def _parent(self, path: str) -> str:
        real = self._real(path)
        parent = os.path.dirname(real)
        os.makedirs(parent, exist_ok=True)
        self._real(os.path.relpath(parent, self.root) if parent != self.root else "")  # made, then checked again
        return real

    def read(self, path: str, *, max_bytes: int) -> bytes:
        real = self._real(path)
        try:
            fd = os.open(real, os.O_RDONLY | os.O_NOFOLLOW)
        except FileNotFoundError:
            raise not_found(path) from None
        except OSError as exc:
            raise _os_error(path, exc) from None
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            os.close(fd)
            raise FileError(f"{path!r} is not a file", retryable=False)
        with os.fdopen(fd, "rb") as f:
            if info.st_size > max_bytes:
                raise too_large(path, info.st_size, max_bytes)
            data = f.read(max_bytes + 1)
        if len(data) > max_bytes:  # it grew while read
            raise too_large(path, len(data), max_bytes)
        return data

    def _same_content(self, real: str, data: bytes) -> bool:
        try:
            fd = os.open(real, os.O_RDONLY | os.O_NOFOLLOW)
        except OSError:
            return False
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size != len(data):
            os.close(fd)
            return False
        with os.fdopen(fd, "rb") as f:
            return f.read(len(data) + 1) == data

    def _replace(self, real: str, data: bytes) -> None:
        """Atomically: a temporary file beside it, flushed to disk, then renamed over it."""
        directory, name = os.path.split(real)
        fd, temp = tempfile.mkstemp(dir=directory, prefix=f".{name[:100]}.", suffix=TEMP_SUFFIX)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
                os.fchmod(f.fileno(), settings.FILE_UPLOAD_PERMISSIONS or 0o644)
            os.replace(temp, real)
        except BaseException:
            try:
                os.unlink(temp)
            except OSError:
                pass
            raise

    def write(self, path: str, data: bytes) -> int:
        real = self._parent(path)
        if os.path.isdir(real):
            raise FileError(f"{path!r} is a directory", retryable=False)
        if not self._same_content(real, data):  # a retried write of the same content changes nothing
            self._replace(real, data)
        return len(data)

    def _read_marker(self, name: str) -> dict | None:
        try:
            with open(self._real(name), "rb") as f:
                return json.loads(f.read(4096))
        except (OSError, ValueError):
            return None

    def _prune_markers(self, path: str, keep: str) -> None:
        directory = os.path.join(self.root, _marker_dir(path))
        cutoff = time.time() - MARKER_TTL_SECONDS
        try:
            with os.scandir(directory) as entries:
                for count, entry in enumerate(entries):
                    if count >= MAX_MARKERS_PRUNED:
                        break
                    if entry.path != keep and entry.stat(follow_symlinks=False).st_mtime < cutoff:
                        os.unlink(entry.path)
        except OSError:
            pass  # markers are best kept: a failed clean-up costs a few bytes

    def append(self, path: str, data: bytes, *, key: str, max_bytes: int) -> int:
        real = self._parent(path)
        marker_path = self._parent(_marker_name(path, key))
        try:
            fd = os.open(real, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW,
                         settings.FILE_UPLOAD_PERMISSIONS or 0o644)
        except OSError as exc:
            raise _os_error(path, exc) from None
        with os.fdopen(fd, "r+b") as f:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX)  # one append to this file at a time, across processes
            if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                raise FileError(f"{path!r} is not a file", retryable=False)

            def read_at(offset: int, length: int) -> bytes:
                return os.pread(f.fileno(), length, offset)

            if not _done_before(self._read_marker(_marker_name(path, key)), key, data, read_at):
                offset = os.fstat(f.fileno()).st_size
                self._replace(marker_path, _marker(key, offset, data))  # first the intent, then the bytes
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            size = os.fstat(f.fileno()).st_size
        self._prune_markers(path, keep=marker_path)
        return size

    def list(self, path: str, *, max_entries: int) -> tuple[list[Entry], bool]:
        real = self._real(path)
        entries: list[Entry] = []
        truncated = False
        try:
            with os.scandir(real) as found:
                for item in found:
                    if (not path and item.name == RESERVED) or item.name.endswith(TEMP_SUFFIX):
                        continue
                    if len(entries) >= max_entries:
                        truncated = True
                        break
                    if item.is_dir(follow_symlinks=False):
                        entries.append(Entry(item.name, "directory", None))
                    elif item.is_file(follow_symlinks=False):
                        entries.append(Entry(item.name, "file", item.stat(follow_symlinks=False).st_size))
                    else:
                        entries.append(Entry(item.name, "other", None))
        except FileNotFoundError:
            raise not_found(path, "directory") from None
        except NotADirectoryError:
            raise FileError(f"{path!r} is not a directory", retryable=False) from None
        except OSError as exc:
            raise _os_error(path, exc) from None
        return sorted(entries, key=lambda e: e.name), truncated

    def delete(self, path: str) -> bool:
        real = self._real(path)
        if os.path.isdir(real):
            raise FileError(f"{path!r} is a directory; delete removes files only", retryable=False)
        try:
            os.unlink(real)
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise _os_error(path, exc) from None
        _remove_tree(os.path.join(self.root, _marker_dir(path)))
        return True


def _remove_tree(directory: str) -> None:
    try:
        with os.scandir(directory) as entries:
            for entry in entries:
                os.unlink(entry.path)
        os.rmdir(directory)
    except OSError:
        pass


def _os_error(path: str, exc: OSError) -> FileError:
    """An OS error as a step error: a full disk or a busy file may pass; a permission problem will not."""
    transient = exc.errno in (errno.ENOSPC, errno.EAGAIN, errno.EBUSY, errno.EIO, errno.EDQUOT)
    if exc.errno == errno.ELOOP:
        return FileError(f"path {path!r} is a symlink; it is not followed", retryable=False)
    return FileError(f"{path!r}: {exc.strerror or exc}", retryable=transient, details={"errno": exc.errno})


class StorageFiles(Files):
    """Any Django storage (S3 through django-storages, ...): keys have no symlinks, so the lexical
    check is the confinement. Errors from the storage are retried (a network store's are mostly
    transient)."""

    def __init__(self, storage: Storage):
        self.storage = storage

    def _call(self, path: str, action, *args):
        try:
            return action(*args)
        except FileError:
            raise
        except FileNotFoundError:
            raise not_found(path) from None
        except Exception as exc:  # the storage's own errors (botocore's, ...): one seam turns them into ours
            raise FileError(f"{path!r}: storage error: {type(exc).__name__}: {exc}"[:500], retryable=True) from None

    def _read(self, path: str, max_bytes: int) -> bytes:
        if not self.storage.exists(path):
            raise not_found(path)
        size = self.storage.size(path)
        if size > max_bytes:
            raise too_large(path, size, max_bytes)
        with self.storage.open(path, "rb") as f:
            data = f.read(max_bytes + 1)
        if len(data) > max_bytes:
            raise too_large(path, len(data), max_bytes)
        return data if isinstance(data, bytes) else data.encode()

    def _save(self, path: str, data: bytes) -> None:
        if self.storage.exists(path):
            self.storage.delete(path)  # Storage.save never overwrites: it would pick another name
        saved = self.storage.save(path, ContentFile(data))
        if saved != path:
            raise FileError(f"the storage saved {path!r} as {saved!r}", retryable=False)

    def read(self, path: str, *, max_bytes: int) -> bytes:
        return self._call(path, self._read, path, max_bytes)

    def write(self, path: str, data: bytes) -> int:
        def write() -> int:
            if self.storage.exists(path) and self.storage.size(path) == len(data) and \
                    self._read(path, len(data)) == data:
                return len(data)
            self._save(path, data)
            return len(data)

        return self._call(path, write)

    def append(self, path: str, data: bytes, *, key: str, max_bytes: int) -> int:
        def append() -> int:
            current = self._read(path, max_bytes) if self.storage.exists(path) else b""
            marker_name = _marker_name(path, key)
            marker = None
            if self.storage.exists(marker_name):
                with self.storage.open(marker_name, "rb") as f:
                    try:
                        marker = json.loads(f.read(4096))
                    except ValueError:
                        marker = None
            if _done_before(marker, key, data, lambda offset, length: current[offset:offset + length]):
                return len(current)
            if len(current) + len(data) > max_bytes:
                raise FileError(f"{path!r} would be {len(current) + len(data)} bytes; the limit for a "
                                f"file appended to in this storage is {max_bytes}", retryable=False,
                                details={"size": len(current) + len(data), "limit": max_bytes})
            self._save(marker_name, _marker(key, len(current), data))
            self._save(path, current + data)
            return len(current) + len(data)

        return self._call(path, append)

    def list(self, path: str, *, max_entries: int) -> tuple[list[Entry], bool]:
        def listing() -> tuple[list[Entry], bool]:
            try:
                directories, files = self.storage.listdir(path)
            except FileNotFoundError:
                if not path:  # the root: an owner who has no file yet
                    return [], False
                raise not_found(path, "directory") from None
            if not path:
                directories = [d for d in directories if d != RESERVED]
            names = [(d, "directory") for d in directories] + [(f, "file") for f in files]
            names.sort()
            entries = [Entry(name, kind, self.storage.size(f"{path}/{name}" if path else name) if kind == "file"
                             else None) for name, kind in names[:max_entries]]
            return entries, len(names) > max_entries

        return self._call(path, listing)

    def delete(self, path: str) -> bool:
        def delete() -> bool:
            if not self.storage.exists(path):
                return False
            self.storage.delete(path)
            try:
                _, markers = self.storage.listdir(_marker_dir(path))
            except FileNotFoundError:
                markers = []
            for name in markers[:MAX_MARKERS_PRUNED]:
                self.storage.delete(f"{_marker_dir(path)}/{name}")
            return True

        return self._call(path, delete)


class Within(Storage):
    """Another storage's files under one directory of it (an owner's, in a storage all share): the
    names the step gives are relative to it, and so are the names it answers."""

    def __init__(self, storage: Storage, directory: str):
        self.storage, self.directory = storage, directory

    def _name(self, name: str) -> str:
        return posixpath.join(self.directory, name) if name else self.directory

    def exists(self, name: str) -> bool:
        return self.storage.exists(self._name(name))

    def size(self, name: str) -> int:
        return self.storage.size(self._name(name))

    def open(self, name: str, mode: str = "rb"):
        return self.storage.open(self._name(name), mode)

    def delete(self, name: str) -> None:
        self.storage.delete(self._name(name))

    def listdir(self, path: str):
        return self.storage.listdir(self._name(path))

    def save(self, name, content, max_length=None) -> str:
        return posixpath.relpath(self.storage.save(self._name(name), content, max_length=max_length), self.directory)


def configured(owner_id) -> Files:
    """The root of one owner's files: the directory `<owner id>/` of the root the settings name,
    STORAGES[FLOWPILOT_FILES_STORAGE] when set, else the local directory FLOWPILOT_FILES_ROOT. One
    owner's workflows never see another's files. A FileSystemStorage gets the real-path checks
    (confined to the owner's directory) either way."""
    if owner_id is None or not str(owner_id).isdigit():
        raise FileError("the file step needs its workflow's owner", retryable=False)
    location = settings.FLOWPILOT_FILES_ROOT
    if alias := settings.FLOWPILOT_FILES_STORAGE:
        try:
            storage = storages[alias]
        except InvalidStorageError:
            raise FileError(f"FLOWPILOT_FILES_STORAGE names {alias!r}, which STORAGES does not define",
                            retryable=False) from None
        if not isinstance(storage, FileSystemStorage):
            return StorageFiles(Within(storage, str(owner_id)))
        location = storage.location
    return LocalFiles(os.path.join(location, str(owner_id)))
