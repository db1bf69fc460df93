"""Atomic writes: whole files or none, no leftovers, the user's permissions."""

import os
import stat
import time

import numpy as np
import pytest

import skanime._atomic as atomic
import skanime._cache as cache
import skanime.io as skio
from skanime import PosterEmbedder, clear_memory_cache
from skanime._atomic import atomic_group, atomic_path
from skanime.report import plot_predictions

posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")


@pytest.fixture
def umask():
    """Set the process umask for a test, restoring it afterwards."""
    old = os.umask(0o022)
    yield os.umask
    os.umask(old)


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@posix_only
@pytest.mark.parametrize("mask", [0o022, 0o077, 0o002])
def test_files_are_created_with_the_users_umask(mask, umask, tmp_path):
    umask(mask)
    with atomic_path(tmp_path / "a.txt") as tmp:
        tmp.write_text("a")
    with atomic_group() as group:
        group.path(tmp_path / "b.txt").write_text("b")
    assert _mode(tmp_path / "a.txt") == 0o666 & ~mask
    assert _mode(tmp_path / "b.txt") == 0o666 & ~mask


@posix_only
def test_every_kind_of_output_honours_the_umask(
    umask, fitted_model, anime, tmp_path, empty_embedding_cache
):
    umask(0o022)
    skio.save(fitted_model, tmp_path / "m.skanime")
    plot_predictions([5.0, 6.0, 7.0], [5.5, 6.0, 6.5], tmp_path / "plot.png")
    PosterEmbedder(
        "simple_cnn", image_size=16, engine="torch", cache_dir=tmp_path / "c"
    )
    embedder = PosterEmbedder(
        "simple_cnn", image_size=16, engine="torch", cache_dir=tmp_path / "cache"
    )
    embedder.fit_transform(anime[["poster"]].dropna().head(2))
    entries = list((tmp_path / "cache").rglob("*.npy"))
    assert len(entries) == 2
    for path in [tmp_path / "m.skanime", tmp_path / "plot.png", *entries]:
        assert _mode(path) == 0o644, path


def test_a_folder_as_target_is_refused_and_a_failed_replace_leaves_no_temporary(
    tmp_path,
):
    def names():
        return sorted(p.name for p in tmp_path.iterdir())

    target = tmp_path / "model.skanime"
    target.mkdir()  # a folder where the file should go: refused before writing
    with pytest.raises(IsADirectoryError, match="'.*model.skanime' is a folder"):
        with atomic_path(target):
            pass
    assert names() == ["model.skanime"]
    with pytest.raises(IsADirectoryError), atomic_group() as group:
        group.path(tmp_path / "fine.txt").write_text("fine")
        group.path(target).write_text("x")
    assert names() == ["model.skanime"]  # all or none: fine.txt is not written
    # a folder made after the check: the replace itself fails, and cleans up
    late = tmp_path / "late.skanime"
    with pytest.raises(OSError), atomic_path(late) as tmp:
        tmp.write_bytes(b"x" * 100_000)
        late.mkdir()
    assert names() == ["late.skanime", "model.skanime"]
    late.rmdir()
    with pytest.raises(OSError), atomic_group() as group:
        group.path(tmp_path / "fine.txt").write_text("fine")
        group.path(late).write_text("x")
        late.mkdir()
    assert names() == ["fine.txt", "late.skanime", "model.skanime"]


def test_an_exception_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "preds.csv"
    target.write_text("old")
    with pytest.raises(KeyboardInterrupt), atomic_group() as group:
        group.path(target).write_text("new")
        group.path(tmp_path / "other.csv").write_text("new")
        raise KeyboardInterrupt
    assert [p.name for p in tmp_path.iterdir()] == ["preds.csv"]
    assert target.read_text() == "old"
    with pytest.raises(KeyboardInterrupt), atomic_group() as group:
        group.path(tmp_path / "new" / "report" / "plot.png").write_text("new")
        raise KeyboardInterrupt
    assert [p.name for p in tmp_path.iterdir()] == ["preds.csv"]  # no new folder


def test_stale_temporary_files_of_killed_processes_are_removed_later(tmp_path):
    target = tmp_path / "model.skanime"
    stale = tmp_path / ".model.skanime.abc12345.tmp"  # a killed writer's leftover
    fresh = tmp_path / ".model.skanime.def_6789.tmp"  # another process writing now
    other = tmp_path / ".other.skanime.abc12345.tmp"  # another target's
    for path in (stale, fresh, other):
        path.write_bytes(b"partial")
    old = time.time() - atomic.STALE_AFTER - 60
    os.utime(stale, (old, old))
    os.utime(other, (old, old))
    with atomic_path(target) as tmp:
        tmp.write_bytes(b"model")
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == [fresh.name, other.name, "model.skanime"]


def test_a_stale_temporary_cache_entry_is_never_read_and_swept_later(
    anime, tmp_path, computed, monkeypatch
):
    posters = anime[["poster"]].dropna().head(2)
    embedder = PosterEmbedder(
        "simple_cnn", image_size=16, engine="torch", cache_dir=tmp_path, random_state=0
    )
    first = embedder.fit_transform(posters)
    (folder,) = tmp_path.iterdir()
    for entry in list(folder.iterdir()):  # as if killed before the replace
        entry.rename(entry.with_name(f".{entry.name}.x1y2z3w4.tmp"))
        with open(entry.with_name(f".{entry.name}.z3______.tmp"), "wb") as file:
            np.save(file, np.full(4, np.nan))
    leftovers = sorted(p.name for p in folder.iterdir())
    old = time.time() - atomic.STALE_AFTER - 60
    for name in leftovers[:2]:
        os.utime(folder / name, (old, old))
    clear_memory_cache()
    monkeypatch.setattr(cache, "_SWEPT", set())  # as in a new process
    second = embedder.transform(posters)
    assert computed == [2, 2]
    np.testing.assert_array_equal(first, second)
    names = sorted(p.name for p in folder.iterdir())
    assert len([n for n in names if n.endswith(".npy")]) == 2
    assert [n for n in names if n.endswith(".tmp")] == leftovers[2:]  # the young


@posix_only
def test_a_link_keeps_leading_to_its_file_and_a_device_is_written_in_place(tmp_path):
    """Replacing a link put a file in its place; replacing ``/dev/null`` or
    ``/dev/stdout`` (``skanime predict ... --out /dev/null`` as root) put a
    regular file where the device was, for every program on the machine."""
    import threading

    real = tmp_path / "real.txt"
    real.write_text("old")
    link = tmp_path / "link.txt"
    link.symlink_to(real)
    with atomic_path(link) as tmp:
        tmp.write_text("new")
    assert link.is_symlink() and real.read_text() == "new"
    device = tmp_path / "null"  # a link to the device, so no test replaces it
    device.symlink_to(os.devnull)
    with atomic_group() as group:
        group.path(device).write_text("discarded")
    assert os.readlink(device) == os.devnull and device.is_char_device()
    fifo = tmp_path / "fifo"  # a named pipe: what is written reaches its reader
    os.mkfifo(fifo)
    read = []
    reader = threading.Thread(target=lambda: read.append(fifo.read_text()), daemon=True)
    reader.start()
    with atomic_path(fifo) as tmp:
        tmp.write_text("streamed")
    reader.join(10)
    assert read == ["streamed"] and stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "fifo",
        "link.txt",
        "null",
        "real.txt",
    ]
