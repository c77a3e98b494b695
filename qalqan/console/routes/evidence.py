"""The case page's evidence button: ``POST /cases/{id}/evidence`` makes the case's signed
package (:mod:`qalqan.evidence`) and sends it as a zip.

Only the roles that may export (a prosecutor, a supervisor) see the button,
and :func:`qalqan.evidence.export_case` refuses anyone else (403, audited);
every package made is in the audit log with its manifest's SHA-256. The
package is signed with the key folder's key (``QALQAN_KEYS``; an encrypted key
opens with ``QALQAN_KEYS_PASSPHRASE``); without a key the page says so.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import Final

from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from qalqan.console.forms import path_id, posted
from qalqan.console.web import console_of, flash, redirect
from qalqan.evidence import KeyFolder, KeyFolderError, export_case

__all__ = ["PASSPHRASE_ENV", "routes", "zip_package"]

PASSPHRASE_ENV: Final = "QALQAN_KEYS_PASSPHRASE"


def zip_package(root: Path, into: Path) -> Path:
    """The package folder as a zip whose entries sit under one folder named like the package."""
    with zipfile.ZipFile(into, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            archive.write(path, f"{root.name}/{path.relative_to(root).as_posix()}")
    return into


async def export(request: Request) -> Response:
    await posted(request)  # the CSRF token
    case_id = path_id(request, "case_id")
    passphrase = os.environ.get(PASSPHRASE_ENV)
    try:
        key = KeyFolder.default().private_key(
            passphrase=passphrase.encode() if passphrase else None
        )
    except KeyFolderError:
        flash(request, "evidence_no_key")
        return redirect(f"/cases/{case_id}")
    work = Path(tempfile.mkdtemp(prefix="qalqan-evidence-"))
    try:
        package = work / f"case-{case_id}-evidence"
        await console_of(request).run(request, export_case, case_id, package, key=key)
        archive = await run_in_threadpool(zip_package, package, work / f"{package.name}.zip")
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return FileResponse(
        archive,
        media_type="application/zip",
        filename=archive.name,
        background=BackgroundTask(shutil.rmtree, work, ignore_errors=True),
    )


routes = [Route("/cases/{case_id:int}/evidence", export, methods=["POST"])]
