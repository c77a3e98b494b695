"""``qalqan keys generate|list|export-public``: the key that signs evidence packages.

The private key stays in the key folder (``--keys``, else ``QALQAN_KEYS``,
else ``~/.config/qalqan/keys``), mode 0600; it is encrypted when the
environment variable named by ``--passphrase-env`` holds a passphrase (never
given on the command line, where other users and the shell history see it).
The public key is what partners need: ``export-public`` prints or writes it as
PEM with its fingerprint.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from qalqan.cli.common import console, guarded

__all__ = ["KeysDir", "PassphraseEnv", "keys_app", "passphrase_from"]

keys_app = typer.Typer(
    name="keys",
    help="The Ed25519 key that signs evidence packages.",
    no_args_is_help=True,
    add_completion=False,
)

KeysDir = Annotated[
    Path | None,
    typer.Option(
        "--keys",
        help="The key folder (default: QALQAN_KEYS, else ~/.config/qalqan/keys).",
        show_default=False,
    ),
]
PassphraseEnv = Annotated[
    str | None,
    typer.Option(
        "--passphrase-env",
        help="The environment variable holding the private key's passphrase (the key is "
        "encrypted with it when generated, and opened with it when signing).",
        show_default=False,
    ),
]


def passphrase_from(variable: str | None) -> bytes | None:
    """The passphrase in ``variable``; an unset or empty variable is a mistake said as such."""
    if variable is None:
        return None
    value = os.environ.get(variable)
    if not value:
        raise typer.BadParameter(
            f"the environment variable {variable} is not set or empty",
            param_hint="--passphrase-env",
        )
    return value.encode()


@keys_app.command("generate")
@guarded
def generate_command(
    keys: KeysDir = None,
    passphrase_env: PassphraseEnv = None,
    replace: Annotated[
        bool, typer.Option("--replace", help="Replace a key already in the folder.")
    ] = False,
) -> None:
    """Make a new signing key pair in the key folder."""
    from qalqan.evidence.keys import KeyFolder, fingerprint

    folder = KeyFolder.default(keys)
    public = folder.generate(passphrase=passphrase_from(passphrase_env), replace=replace)
    encrypted = "encrypted with the passphrase" if passphrase_env else "not encrypted"
    console.print(f"signing key written to {folder.private_path} (mode 0600, {encrypted})")
    console.print(f"public key: {folder.public_path}")
    console.print(f"fingerprint: {fingerprint(public)}", soft_wrap=True)


@keys_app.command("list")
@guarded
def list_command(keys: KeysDir = None) -> None:
    """Show the key folder's key: where it is, whether it is encrypted, its fingerprint."""
    from qalqan.evidence.keys import KeyFolder, fingerprint

    folder = KeyFolder.default(keys)
    if not folder.exists():
        console.print(f"no signing key in {folder.path} (make one with `qalqan keys generate`)")
        return
    encrypted = b"ENCRYPTED" in folder.private_path.read_bytes()[:64]
    mode = folder.private_path.stat().st_mode & 0o777
    console.print(f"{folder.private_path}: Ed25519, mode {mode:04o}, "
                  f"{'encrypted' if encrypted else 'not encrypted'}")  # fmt: skip
    console.print(f"fingerprint: {fingerprint(folder.public_key())}", soft_wrap=True)


@keys_app.command("export-public")
@guarded
def export_public_command(
    keys: KeysDir = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write the PEM here instead of printing it.")
    ] = None,
) -> None:
    """Print (or write) the public key as PEM, with its fingerprint, for partners."""
    from qalqan.evidence.keys import KeyFolder, fingerprint, public_pem

    folder = KeyFolder.default(keys)
    public = folder.public_key()
    pem = public_pem(public)
    if out is None:
        typer.echo(pem.decode(), nl=False)
        typer.echo(f"# fingerprint: {fingerprint(public)}")
        return
    out.write_bytes(pem)
    console.print(
        f"public key written to {out}; fingerprint: {fingerprint(public)}", soft_wrap=True
    )
