"""A package received as a zip: verified as the folder would be, and a hostile zip refused."""

from __future__ import annotations

import stat
import time
import zipfile
from pathlib import Path

import pytest

from qalqan.console.routes.evidence import zip_package
from qalqan.evidence.archive import MAX_ENTRIES, verify_archive
from qalqan.evidence.export import export_case
from qalqan.evidence.keys import KeyFolder
from tests.evidence.conftest import CaseWorld


@pytest.fixture(scope="module")
def zipped(world: CaseWorld, keys: KeyFolder, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("zipped")
    with world.store.transaction() as session:
        export_case(
            session,
            world.people.prosecutor,
            world.case_id,
            folder / "case-1",
            key=keys.private_key(),
        )
    return zip_package(folder / "case-1", folder / "case-1.zip")


def _rezip(
    source: Path,
    target: Path,
    change: dict[str, bytes | None],
    extra: dict[str, bytes] | None = None,
) -> Path:
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as new:
        for info in old.infolist():
            name = info.filename
            if name in change:
                if change[name] is not None:
                    new.writestr(name, change[name])  # type: ignore[arg-type]
                continue
            new.writestr(name, old.read(name))
        for name, data in (extra or {}).items():
            new.writestr(name, data)
    return target


def test_a_zipped_package_verifies(zipped: Path, keys: KeyFolder) -> None:
    result = verify_archive(zipped, public_key=keys.public_key())
    assert result.intact, result.problems
    assert result.root == zipped


def test_a_changed_removed_or_added_entry_is_named(
    zipped: Path, keys: KeyFolder, tmp_path: Path
) -> None:
    broken = _rezip(
        zipped, tmp_path / "b.zip",
        {"case-1/data/money.csv": b"account\n", "case-1/data/notes.csv": None},
        {"case-1/data/planted.csv": b"x"},
    )  # fmt: skip
    result = verify_archive(broken, public_key=keys.public_key())
    assert sorted((p.path, p.what) for p in result.problems) == [
        ("data/money.csv", "changed"), ("data/notes.csv", "missing"), ("data/planted.csv", "added"),
    ]  # fmt: skip


@pytest.mark.parametrize(
    "name", ["case-1/../../evil.sh", "/etc/cron.d/evil", "case-1/data\\..\\x", "case-1/a/./b"]
)
def test_names_leaving_the_folder_are_refused(
    zipped: Path, keys: KeyFolder, tmp_path: Path, name: str
) -> None:
    hostile = _rezip(zipped, tmp_path / "h.zip", {}, {name: b"#!/bin/sh\n"})
    result = verify_archive(hostile, public_key=keys.public_key())
    assert [p.what for p in result.problems] == ["refused"]
    assert not (tmp_path / "evil.sh").exists()


def test_a_symlink_entry_is_refused(zipped: Path, keys: KeyFolder, tmp_path: Path) -> None:
    hostile = _rezip(zipped, tmp_path / "s.zip", {})
    with zipfile.ZipFile(hostile, "a") as archive:
        link = zipfile.ZipInfo("case-1/data/link.csv")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(link, "/etc/passwd")
    result = verify_archive(hostile, public_key=keys.public_key())
    assert [(p.path, p.what, p.detail) for p in result.problems] == [
        ("case-1/data/link.csv", "refused", "is a symbolic link")
    ]


def test_a_zip_bomb_stops_at_its_first_entry(zipped: Path, keys: KeyFolder, tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.zip"
    with (
        zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive,
        archive.open("case-1/data/calls.csv", "w", force_zip64=True) as f,
    ):
        for _ in range(200):
            f.write(b"\0" * (1024 * 1024))  # 200 MiB of zeros, about 200 KiB packed
    started = time.perf_counter()
    result = verify_archive(bomb, public_key=keys.public_key())
    assert time.perf_counter() - started < 10
    assert [p.what for p in result.problems] == ["refused"]
    assert "times its compressed size" in result.problems[0].detail


def test_an_unpacked_size_past_the_limit_is_refused(zipped: Path, keys: KeyFolder) -> None:
    result = verify_archive(zipped, public_key=keys.public_key(), max_bytes=10_000)
    assert [p.what for p in result.problems] == ["refused"]
    assert "size allowed" in result.problems[0].detail


def test_too_many_entries_are_refused(tmp_path: Path) -> None:
    many = tmp_path / "many.zip"
    with zipfile.ZipFile(many, "w") as archive:
        for i in range(MAX_ENTRIES + 1):
            archive.writestr(f"p/data/{i}.csv", b"")
    result = verify_archive(many)
    assert [p.what for p in result.problems] == ["refused"] and "entries" in result.problems[
        0
    ].detail


def test_not_a_zip_is_refused(tmp_path: Path) -> None:
    (tmp_path / "x.zip").write_bytes(b"PK\x03\x04 but not really")
    assert [p.what for p in verify_archive(tmp_path / "x.zip").problems] == ["refused"]
