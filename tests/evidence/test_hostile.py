"""verify reads what an outsider wrote: every cost is bounded and every trick refused with a reason."""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qalqan.evidence.errors import PackageRefused
from qalqan.evidence.export import export_case
from qalqan.evidence.keys import KeyFolder
from qalqan.evidence.manifest import (
    FORMAT,
    MANIFEST,
    MAX_FILES,
    MAX_MANIFEST_BYTES,
    _entries,
    check_name,
    sign_manifest,
    verify_package,
)
from tests.evidence.conftest import CaseWorld


@pytest.fixture(scope="module")
def package(world: CaseWorld, keys: KeyFolder, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("hostile") / "case"
    with world.store.transaction() as session:
        export_case(session, world.people.prosecutor, world.case_id, out, key=keys.private_key())
    return out


@pytest.fixture
def copy(package: Path, tmp_path: Path) -> Iterator[Path]:
    target = tmp_path / "copy"
    shutil.copytree(package, target)
    yield target


def _refusal(root: Path, keys: KeyFolder) -> tuple[str, str]:
    result = verify_package(root, public_key=keys.public_key())
    assert [p.what for p in result.problems] == ["refused"], result.problems
    return result.problems[0].path, result.problems[0].detail


def _rewrite(root: Path, keys: KeyFolder, files: list[dict[str, object]]) -> None:
    """A manifest with these entries, properly signed: only the names can be at fault."""
    body = json.loads((root / MANIFEST).read_text())
    body["files"] = files
    data = json.dumps(body).encode()
    (root / MANIFEST).write_bytes(data)
    sign_manifest(root, data, keys.private_key())


def test_a_huge_manifest_is_refused_before_it_is_read(copy: Path, keys: KeyFolder) -> None:
    with (copy / MANIFEST).open("wb") as f:
        f.truncate(MAX_MANIFEST_BYTES + 1)  # sparse: costs no disk, would cost memory if read
    started = time.perf_counter()
    where, why = _refusal(copy, keys)
    assert time.perf_counter() - started < 2
    assert where == MANIFEST and "more than" in why


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (b"\xff\xfe not json", "not JSON"),
        (b"[]", "not a manifest"),
        (json.dumps({"format": FORMAT, "files": {"a": 1}}).encode(), "'files' is not a list"),
        (
            json.dumps(
                {"format": FORMAT, "files": [{"path": "a", "sha256": "zz", "size": 1}]}
            ).encode(),
            "sha256",
        ),
        (
            json.dumps(
                {"format": FORMAT, "files": [{"path": "a", "sha256": "0" * 64, "size": -1}]}
            ).encode(),
            "size",
        ),
        (
            json.dumps(
                {"format": FORMAT, "files": [{"path": "a", "sha256": "0" * 64, "size": True}]}
            ).encode(),
            "size",
        ),
        (b"[" * 100_000, "not JSON"),
    ],
)
def test_a_malformed_manifest_is_refused_saying_why(
    copy: Path, keys: KeyFolder, content: bytes, why: str
) -> None:
    (copy / MANIFEST).write_bytes(content)
    where, detail = _refusal(copy, keys)
    assert where == MANIFEST and why in detail


def test_a_manifest_of_too_many_files_is_refused(copy: Path, keys: KeyFolder) -> None:
    entry = {"path": "data/x.csv", "sha256": "0" * 64, "size": 0}
    _rewrite(copy, keys, [entry] * (MAX_FILES + 1))
    assert "at most" in _refusal(copy, keys)[1]


@pytest.mark.parametrize(
    "name",
    ["../outside.csv", "data/../../outside.csv", "/etc/passwd", "data\\..\\x", "data//x", "./x", "data/.hidden",
     "manifest.sig", "a/" * 9 + "x", "x" * 300, "data/\u2028x", ""],
)  # fmt: skip
def test_names_leaving_the_folder_or_not_plain_are_refused(
    copy: Path, keys: KeyFolder, name: str
) -> None:
    outside = copy.parent / "outside.csv"
    outside.write_text("a file beside the package")
    _rewrite(copy, keys, [{"path": name, "sha256": "0" * 64, "size": 25}])
    where, why = _refusal(copy, keys)
    assert where == MANIFEST and ("file name" in why), why


def test_a_file_replaced_by_a_symlink_is_refused(copy: Path, keys: KeyFolder) -> None:
    target = copy.parent / "real.csv"
    shutil.copy(copy / "data/calls.csv", target)
    (copy / "data/calls.csv").unlink()
    os.symlink(target, copy / "data/calls.csv")
    assert _refusal(copy, keys) == ("data/calls.csv", "is or passes through a symbolic link")


def test_a_symlinked_folder_is_refused(copy: Path, keys: KeyFolder) -> None:
    real = copy.parent / "real-data"
    shutil.move(copy / "data", real)
    os.symlink(real, copy / "data")
    where, why = _refusal(copy, keys)
    assert where.startswith("data") and "symbolic link" in why


def test_an_added_symlink_is_refused(copy: Path, keys: KeyFolder) -> None:
    os.symlink("/etc/passwd", copy / "report" / "passwd")
    assert _refusal(copy, keys) == ("report/passwd", "is a symbolic link")


def test_a_package_that_is_a_symlink_is_refused(
    package: Path, keys: KeyFolder, tmp_path: Path
) -> None:
    os.symlink(package, tmp_path / "link")
    assert [p.what for p in verify_package(tmp_path / "link").problems] == ["refused"]


def test_a_huge_signature_file_is_refused(copy: Path, keys: KeyFolder) -> None:
    with (copy / "manifest.sig").open("wb") as f:
        f.truncate(10**9)
    assert _refusal(copy, keys)[0] == "manifest.sig"


def test_a_file_grown_huge_is_not_read_whole(copy: Path, keys: KeyFolder) -> None:
    with (copy / "data/calls.csv").open("ab") as f:
        f.truncate(50 * 1024**3)  # sparse 50 GB: the size differs, so it is never hashed
    started = time.perf_counter()
    result = verify_package(copy, public_key=keys.public_key())
    assert time.perf_counter() - started < 5
    assert [(p.path, p.what) for p in result.problems] == [("data/calls.csv", "changed")]


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
_entry = st.fixed_dictionaries(
    {"path": st.text(max_size=40) | st.sampled_from(["data/a.csv", "../a", "a/./b"]),
     "sha256": st.text(alphabet="0123456789abcdefz", min_size=63, max_size=65),
     "size": st.integers(min_value=-2, max_value=10**12) | st.booleans() | st.text(max_size=3)}
)  # fmt: skip


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    body=_json
    | st.fixed_dictionaries(
        {"format": st.just(FORMAT), "files": st.lists(_entry | _json, max_size=5)}
    )
)
def test_the_manifest_reader_accepts_or_refuses_nothing_else(body: object) -> None:
    """Any JSON: either entries whose names are safe, or PackageRefused, never another error."""
    try:
        entries = _entries(body)
    except PackageRefused as refused:
        assert refused.where == MANIFEST and refused.reason
        return
    for name, (digest, size) in entries.items():
        assert check_name(name)
        assert ".." not in name.split("/") and not name.startswith("/")
        assert len(digest) == 64 and size >= 0
