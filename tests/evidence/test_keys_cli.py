"""``qalqan keys`` and ``qalqan evidence`` from the command line, and the key folder's rules."""

from __future__ import annotations

import shutil
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from qalqan.cli.main import app
from qalqan.evidence.errors import KeyFolderError
from qalqan.evidence.keys import KeyFolder, fingerprint
from tests.evidence.conftest import CaseWorld

runner = CliRunner()


def test_a_generated_key_is_private_to_its_owner(tmp_path: Path) -> None:
    folder = KeyFolder(tmp_path / "keys")
    public = folder.generate()
    assert stat.S_IMODE(folder.private_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(folder.path.stat().st_mode) == 0o700
    assert fingerprint(folder.private_key().public_key()) == fingerprint(public)
    with pytest.raises(KeyFolderError, match="already there"):
        folder.generate()


def test_a_key_others_may_read_is_refused(tmp_path: Path) -> None:
    folder = KeyFolder(tmp_path / "keys")
    folder.generate()
    folder.private_path.chmod(0o644)
    with pytest.raises(KeyFolderError, match="lets others read"):
        folder.private_key()


def test_an_encrypted_key_needs_its_passphrase(tmp_path: Path) -> None:
    folder = KeyFolder(tmp_path / "keys")
    folder.generate(passphrase=b"correct horse battery staple")
    assert b"ENCRYPTED" in folder.private_path.read_bytes()
    with pytest.raises(KeyFolderError, match="no passphrase"):
        folder.private_key()
    with pytest.raises(KeyFolderError, match="wrong passphrase"):
        folder.private_key(passphrase=b"wrong")
    assert folder.private_key(passphrase=b"correct horse battery staple")


def test_the_key_folder_defaults_to_the_config_dir(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("QALQAN_KEYS", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    assert KeyFolder.default().path == tmp_path / "config" / "qalqan" / "keys"
    monkeypatch.setenv("QALQAN_KEYS", str(tmp_path / "elsewhere"))
    assert KeyFolder.default().path == tmp_path / "elsewhere"


def test_keys_commands(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    keys = str(tmp_path / "keys")
    monkeypatch.setenv("EVIDENCE_PASSPHRASE", "a passphrase of the office")
    made = runner.invoke(
        app, ["keys", "generate", "--keys", keys, "--passphrase-env", "EVIDENCE_PASSPHRASE"]
    )
    assert made.exit_code == 0, made.output
    print_fp = fingerprint(KeyFolder(Path(keys)).public_key())
    assert print_fp in made.output
    listed = runner.invoke(app, ["keys", "list", "--keys", keys])
    assert listed.exit_code == 0 and "encrypted" in listed.output and "0600" in listed.output
    exported = runner.invoke(app, ["keys", "export-public", "--keys", keys])
    assert exported.output.startswith("-----BEGIN PUBLIC KEY-----") and print_fp in exported.output
    assert "PRIVATE" not in exported.output
    unset = runner.invoke(
        app,
        [
            "keys",
            "generate",
            "--keys",
            str(tmp_path / "k2"),
            "--passphrase-env",
            "NOT_SET_ANYWHERE",
        ],
    )
    assert unset.exit_code == 2 and "NOT_SET_ANYWHERE" in unset.output


def test_export_and_verify_from_the_command_line(world: CaseWorld, tmp_path: Path) -> None:
    keys = str(tmp_path / "keys")
    assert runner.invoke(app, ["keys", "generate", "--keys", keys]).exit_code == 0
    assert (
        runner.invoke(
            app, ["keys", "export-public", "--keys", keys, "--out", str(tmp_path / "pub.pem")]
        ).exit_code
        == 0
    )
    out = tmp_path / "package"
    made = runner.invoke(
        app,
        ["evidence", "export", "--db", world.url, "--case", str(world.case_id), "--out", str(out),
         "--keys", keys, "--analysis", str(world.analysis)],
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    assert "manifest SHA-256" in made.output
    ok = runner.invoke(
        app, ["evidence", "verify", str(out), "--public-key", str(tmp_path / "pub.pem")]
    )
    assert ok.exit_code == 0, ok.output
    assert "verified" in ok.output and "the key given" in ok.output
    broken = tmp_path / "broken"
    shutil.copytree(out, broken)
    (broken / "data/money.csv").write_text("account\n")
    (broken / "data/planted.csv").write_text("x\n")
    (broken / "data/notes.csv").unlink()
    failed = runner.invoke(
        app, ["evidence", "verify", str(broken), "--public-key", str(tmp_path / "pub.pem")]
    )
    assert failed.exit_code == 1
    for said in (
        "data/money.csv: changed",
        "data/planted.csv: added",
        "data/notes.csv: missing",
        "NOT VERIFIED",
    ):
        assert said in failed.output
    missing_case = runner.invoke(
        app,
        [
            "evidence",
            "export",
            "--db",
            world.url,
            "--case",
            "999",
            "--out",
            str(tmp_path / "none"),
            "--keys",
            keys,
        ],
    )
    assert missing_case.exit_code == 2 and "999" in missing_case.output


def test_verify_takes_the_zip_the_console_sends(world: CaseWorld, tmp_path: Path) -> None:
    from qalqan.console.routes.evidence import zip_package

    keys = str(tmp_path / "keys")
    assert runner.invoke(app, ["keys", "generate", "--keys", keys]).exit_code == 0
    assert (
        runner.invoke(
            app, ["keys", "export-public", "--keys", keys, "--out", str(tmp_path / "pub.pem")]
        ).exit_code
        == 0
    )
    out = tmp_path / "case"
    made = runner.invoke(
        app,
        [
            "evidence",
            "export",
            "--db",
            world.url,
            "--case",
            str(world.case_id),
            "--out",
            str(out),
            "--keys",
            keys,
        ],
    )
    assert made.exit_code == 0, made.output
    archive = zip_package(out, tmp_path / "case.zip")
    ok = runner.invoke(
        app, ["evidence", "verify", str(archive), "--public-key", str(tmp_path / "pub.pem")]
    )
    assert ok.exit_code == 0, ok.output
