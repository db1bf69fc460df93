"""Atomic writes: a file is replaced whole or not at all.

A file is written to a temporary name beside its target (``.<name>.<random>.tmp``)
and moved over the target only when complete. On an exception the temporary file
is removed; one left behind by a process that was killed (``SIGKILL``, a power
cut) is never read as the target, and is removed by the next write of the same
target once it is older than :data:`STALE_AFTER` seconds (a younger one may belong
to another process writing now). Files are created with the permissions that the
user's umask gives (``0o666 & ~umask``), like any other program's, not the
``0o600`` of :func:`tempfile.mkstemp`.

A target that is a symbolic link has the file it leads to replaced, the link
kept. One that cannot be replaced, being no regular file (``/dev/null``,
``/dev/stdout``, a named pipe), is written in place: replacing it put a
regular file where the device was (as root, ``/dev/null`` itself).
"""

from __future__ import annotations

import os
import re
import stat
import tempfile
import threading
import time
from pathlib import Path

__all__ = [
    "STALE_AFTER",
    "atomic_group",
    "atomic_path",
    "is_special_file",
    "remove_stale",
]

#: A temporary file older than this (seconds) is a leftover of a killed process.
STALE_AFTER = 3600.0

_UMASK_LOCK = threading.Lock()


def _umask() -> int:
    """The process's umask, read without changing it where the system allows."""
    try:  # Linux 4.7+: no window in which another thread sees umask 0
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    with _UMASK_LOCK:
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


def is_special_file(path: str | os.PathLike) -> bool:
    """Whether ``path`` is an existing file that is neither a regular file nor
    a folder (a device such as ``/dev/null``, a terminal, a named pipe), or a
    link to one: a file that is written in place, never replaced."""
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


def _replaced(path: Path) -> Path:
    """The file a write of ``path`` replaces: the file its symbolic link leads
    to, the link kept; else ``path``."""
    return Path(os.path.realpath(path)) if path.is_symlink() else path


def _temporary_for(path: Path, *, clean: bool = True) -> Path:
    """Create an empty temporary file beside ``path``, with umask permissions;
    with ``clean``, first remove the stale temporary files of ``path``."""
    if path.is_dir():  # else the final replace fails, naming the temporary file
        raise IsADirectoryError(f"{str(path)!r} is a folder; name a file to write.")
    path.parent.mkdir(parents=True, exist_ok=True)
    if clean:
        remove_stale(path.parent, re.escape(path.name))
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_umask())
    except (AttributeError, OSError):  # no fchmod (Windows): keep mkstemp's mode
        pass
    finally:
        os.close(fd)
    return Path(tmp)


def remove_stale(folder: str | os.PathLike, name_pattern: str) -> int:
    """Remove the temporary files in ``folder`` of targets whose name matches the
    regular expression ``name_pattern`` that are older than :data:`STALE_AFTER`.

    Only names of the form this module gives (``.<name>.<8 characters>.tmp``) are
    considered. Returns how many were removed.
    """
    cutoff = time.time() - STALE_AFTER
    ours = re.compile(rf"\.(?:{name_pattern})\.[a-z0-9_]{{8}}\.tmp")
    removed = 0
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return 0
    for entry in entries:
        if not ours.fullmatch(entry.name):
            continue
        try:
            if entry.stat(follow_symlinks=False).st_mtime < cutoff:
                os.unlink(entry.path)
                removed += 1
        except OSError:  # gone already, or not ours to remove
            pass
    return removed


def _replace(tmp: Path, path: Path) -> None:
    try:
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


class atomic_path:  # noqa: N801 - used like open()
    """Context manager yielding a temporary path that replaces ``path`` on success.

    Nothing half-written is left behind: on an exception (or when the replace
    itself fails, e.g. ``path`` is a directory) the temporary file is removed and
    ``path`` keeps its old content. With ``clean`` (the default), stale temporary
    files of ``path`` are removed first; that lists the folder, so writers of many
    files in one folder (the embedding cache) pass ``clean=False`` and call
    :func:`remove_stale` once for the folder instead.
    """

    def __init__(self, path: str | os.PathLike, *, clean: bool = True):
        self.path = Path(path)
        self.clean = clean

    def __enter__(self) -> Path:
        if is_special_file(self.path):  # /dev/null, /dev/stdout: written in place
            self.tmp = None
            return self.path
        self.path = _replaced(self.path)
        self.tmp = _temporary_for(self.path, clean=self.clean)
        return self.tmp

    def __exit__(self, exc_type, exc, tb) -> None:
        if self.tmp is None:
            return
        if exc_type is None:
            _replace(self.tmp, self.path)
        else:
            self.tmp.unlink(missing_ok=True)


class atomic_group:  # noqa: N801 - used like atomic_path
    """Several files written together: all are replaced at the end, or none.

    :meth:`path` gives the temporary path to write each target to; when the
    ``with`` block ends without an exception every target is replaced (a failure
    while replacing removes the temporary files not yet moved); on an exception
    none is touched, every temporary file is removed, and so is every folder made
    for them that is still empty.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> tmp = tempfile.TemporaryDirectory()
    >>> folder = pathlib.Path(tmp.name)
    >>> with atomic_group() as group:
    ...     _ = group.path(folder / "a.txt").write_text("a")
    ...     _ = group.path(folder / "b.txt").write_text("b")
    >>> sorted(p.name for p in folder.iterdir())
    ['a.txt', 'b.txt']
    >>> tmp.cleanup()
    """

    def __enter__(self) -> atomic_group:
        self._staged: list[tuple[Path, Path]] = []
        self._created: list[Path] = []
        return self

    def path(self, target: str | os.PathLike) -> Path:
        """A temporary path that replaces ``target`` when the group succeeds;
        ``target`` itself where it is no regular file (``/dev/stdout``), which
        cannot be replaced and so is written in place."""
        if is_special_file(target):
            return Path(target)
        target = _replaced(Path(target))
        missing = [p for p in [target.parent, *target.parent.parents] if not p.exists()]
        tmp = _temporary_for(target)
        self._created += reversed(missing)  # outermost first
        self._staged.append((tmp, target))
        return tmp

    def targets(self) -> list[Path]:
        """The targets the group will replace when it succeeds, in order."""
        return [target for _, target in self._staged]

    def _discard(self) -> None:
        for tmp, _ in self._staged:
            tmp.unlink(missing_ok=True)
        self._staged = []

    def _remove_created(self) -> None:
        """Remove the folders made for targets that were not written, if empty."""
        for folder in reversed(self._created):
            try:
                folder.rmdir()
            except OSError:  # not empty (another target, or someone else's file)
                pass
        self._created = []

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            self._discard()
            self._remove_created()
            return
        try:
            while self._staged:
                tmp, target = self._staged[0]
                os.replace(tmp, target)
                self._staged.pop(0)
        finally:
            self._discard()
