"""``qalqan evidence export|verify``: signed evidence packages of a case, and checking them.

``export`` opens the case store as the ``system`` actor (whoever runs the
machine; the export is audited under that name) and writes the package of one
case, signed with the key folder's key and, with ``--tsa``, time-stamped.
``verify`` needs only the package (and, to know who signed, the signer's
public key): it prints every file changed, missing or added, and exits 1 on
any problem.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from qalqan.cli.cases import Db, _database_errors
from qalqan.cli.common import EXIT_BAD_DATA, console, err_console, guarded
from qalqan.cli.keys import KeysDir, PassphraseEnv, passphrase_from

__all__ = ["evidence_app"]

evidence_app = typer.Typer(
    name="evidence",
    help="Signed evidence packages of a case for prosecutors and partner police.",
    no_args_is_help=True,
    add_completion=False,
)


@evidence_app.command("export")
@guarded
def export_command(
    db: Db,
    case: Annotated[int, typer.Option("--case", help="The case's number.")],
    out: Annotated[Path, typer.Option("--out", help="A new (or empty) folder for the package.")],
    keys: KeysDir = None,
    passphrase_env: PassphraseEnv = None,
    analysis: Annotated[
        Path | None,
        typer.Option(
            "--analysis",
            help="The `qalqan analyze` output folder: adds the farms' tracks (farm_tracks.csv) "
            "and the money trail (accounts.csv).",
        ),
    ] = None,
    tsa: Annotated[
        str | None,
        typer.Option("--tsa", help="URL of an RFC 3161 time-stamping authority."),
    ] = None,
    tsa_chain: Annotated[
        Path | None,
        typer.Option(
            "--tsa-chain",
            help="PEM certificates of the TSA (its CA and its own) put in the package "
            "(default: those the TSA's answer carries).",
        ),
    ] = None,
) -> None:
    """Write a case's evidence package: data, reports (RU/EN, HTML/PDF), CASE/UCO, a signed manifest."""
    from qalqan.cases.roles import SYSTEM
    from qalqan.cases.store import CaseStore
    from qalqan.evidence.export import export_case
    from qalqan.evidence.keys import KeyFolder
    from qalqan.evidence.timestamp import load_certificates

    key = KeyFolder.default(keys).private_key(passphrase=passphrase_from(passphrase_env))
    chain = load_certificates(_head(tsa_chain), str(tsa_chain)) if tsa_chain else ()
    with _database_errors(), CaseStore.open(db) as store, store.transaction() as session:
        made = export_case(
            session, SYSTEM, case, out, key=key, analysis=analysis, tsa_url=tsa, tsa_chain=chain
        )
    console.print(f"case #{made.case_id}: {made.files} files in {made.root}", soft_wrap=True)
    console.print(f"manifest SHA-256 {made.manifest_sha256}", soft_wrap=True)
    console.print(f"signed by {made.signer}", soft_wrap=True)
    if made.timestamp:
        console.print(f"time-stamped at {made.timestamp}")


def _head(path: Path, limit: int = 256 * 1024) -> bytes:
    """A key or certificate file given on the command line, read no further than ``limit``
    (one byte more, so that a larger one is refused as such)."""
    with path.open("rb") as f:
        return f.read(limit + 1)


@evidence_app.command("verify")
@guarded
def verify_command(
    package: Annotated[Path, typer.Argument(help="The package's folder, or its zip.")],
    public_key: Annotated[
        Path | None,
        typer.Option(
            "--public-key",
            help="The signer's public key (PEM), received apart from the package. Without it "
            "the package's own key is used, which proves it intact but not who signed it.",
        ),
    ] = None,
    tsa_cert: Annotated[
        Path | None,
        typer.Option(
            "--tsa-cert", help="PEM certificates of the TSA to trust instead of the package's."
        ),
    ] = None,
) -> None:
    """Check a package offline: hashes, no file missing or added, the signature, the time stamp."""
    from qalqan.evidence.archive import verify_archive
    from qalqan.evidence.keys import load_public_pem
    from qalqan.evidence.manifest import verify_package
    from qalqan.evidence.timestamp import load_certificates

    key = load_public_pem(_head(public_key), str(public_key)) if public_key else None
    trusted = load_certificates(_head(tsa_cert), str(tsa_cert)) if tsa_cert else None
    if package.is_file():
        result = verify_archive(package, public_key=key, tsa_certificates=trusted)
    else:
        result = verify_package(package, public_key=key, tsa_certificates=trusted)
    for problem in result.problems:
        err_console.print(f"[bold red]{problem}[/]", soft_wrap=True, markup=True, highlight=False)
    if not result.intact:
        err_console.print(
            f"{package}: NOT VERIFIED ({len(result.problems)} problems)", soft_wrap=True
        )
        raise typer.Exit(EXIT_BAD_DATA)
    console.print(f"{package}: verified, {result.files} files intact", soft_wrap=True)
    who = (
        "the key given"
        if result.signer_given
        else "the package's own key (give --public-key to know who signed)"
    )
    console.print(f"signed by {result.signer}, checked with {who}", soft_wrap=True)
    if result.timestamp:
        console.print(f"time-stamped at {result.timestamp}")
