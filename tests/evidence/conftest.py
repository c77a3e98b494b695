"""A case worth exporting, a signing key, and a local RFC 3161 authority made with openssl.

The case: the tiny operator feed of the case store's tests (a SIM farm's calls
for campaign C0001 and spoofed bank calls for C0002), ingested into an SQLite
store; a supervisor opens a case with three of the farm's calls and the farm,
an operator records that one victim already paid a mule account, a note and
an escalation follow. The analysis folder gets a farm track and a money trail.
"""

from __future__ import annotations

import csv
import shutil
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from qalqan.cases import users
from qalqan.cases.ingest import ingest_decisions, ingest_findings
from qalqan.cases.intercepts import claim, record_outcome
from qalqan.cases.investigations import add_note, add_to_case, escalate, open_case
from qalqan.cases.models import Alert, Outcome
from qalqan.cases.store import CaseStore, upgrade
from qalqan.cases.views import Money
from qalqan.evidence.keys import KeyFolder
from tests.cases.conftest import FrozenClock, People, make_people
from tests.cases.feeds import T0, write_feed
from tests.console.conftest import store_campaign_hours

MULE = "bank:KZ86125KZT5004100100"


@pytest.fixture(autouse=True, scope="session")
def _cheap_password_hashes() -> Iterator[None]:
    kept = users._hasher
    users._hasher = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)
    yield
    users._hasher = kept


@dataclass(frozen=True, slots=True)
class CaseWorld:
    store: CaseStore
    url: str
    people: People
    case_id: int
    analysis: Path
    alerts: dict[str, int]


def _analysis_extras(analysis: Path) -> None:
    with (analysis / "farm_tracks.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["farm_id", "stay", "site", "lat", "lon", "first", "last", "calls", "sims"])
        w.writerow(
            [
                "F0001",
                1,
                "S00007",
                43.21,
                76.85,
                "2026-02-27T09:00:00Z",
                "2026-03-01T18:00:00Z",
                40,
                3,
            ]
        )
        w.writerow(
            [
                "F0001",
                2,
                "S00001",
                43.25,
                76.95,
                "2026-03-02T08:00:00Z",
                "2026-03-02T08:11:00Z",
                6,
                3,
            ]
        )
        w.writerow(
            ["F0099", 1, "S00002", 51.1, 71.4, "2026-03-01T08:00:00Z", "2026-03-01T09:00:00Z", 2, 1]
        )
    with (analysis / "accounts.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(
            [
                "account",
                "role",
                "verdict",
                "amount_in",
                "payers",
                "campaign_id",
                "farm_id",
                "reasons",
                "reason_facts",
            ]
        )
        w.writerow([MULE, "collector", "mule", 350000.0, 3, "", "", "three victims paid in", ""])
        w.writerow(
            ["msisdn:+77010000001", "sim_balance", "mule", 5000.0, 2, "", "F0001", "topped up", ""]
        )
        w.writerow(
            [
                "ewallet:77001234567",
                "ewallet",
                "mule",
                120000.0,
                1,
                "",
                "",
                "fed by the collector",
                '[{"rule":"money.chain","facts":{"campaign":"C0001"}}]',
            ]
        )
        w.writerow(["crypto:bc1qcampaign", "crypto", "mule", 2.5, 1, "C0001", "", "cashed out", ""])
        w.writerow(
            [
                "crypto:bc1qunrelated",
                "crypto",
                "mule",
                5.0,
                1,
                "C0002",
                "F0099",
                "another story",
                '[{"rule":"money.chain","facts":{"campaign":"C00011"}}]',
            ]
        )
    with (analysis / "victim_payments.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(
            [
                "payment_id",
                "time",
                "payer",
                "victim",
                "mule",
                "amount",
                "currency",
                "campaign_id",
                "called_by",
                "call_record",
                "minutes_after_call",
                "reasons",
            ]
        )
        w.writerow(
            [
                "p1",
                "2026-03-02T08:20:00Z",
                "bank:KZ0001",
                "+77020000000",
                MULE,
                150000,
                "KZT",
                "",
                "C0001",
                "r0",
                20,
                "paid 20 minutes after the call",
            ]
        )
        w.writerow(
            [
                "p2",
                "2026-03-02T09:00:00Z",
                "bank:KZ0002",
                "+77020000009",
                "bank:KZ99OTHER",
                9000,
                "KZT",
                "C0002",
                "C0002",
                "r1",
                5,
                "another campaign",
            ]
        )


def make_world(folder: Path) -> CaseWorld:
    url = str(folder / "cases.db")
    upgrade(url)
    store = CaseStore.open(url, clock=FrozenClock(T0))
    people = make_people(store)
    feed = write_feed(folder / "feed", calls=12)
    _analysis_extras(feed.findings)
    with store.transaction() as session:
        ingest_decisions(session, feed.decisions, feed.data)
        ingest_findings(session, feed.findings, feed.data)
    store_campaign_hours(store)
    with store.transaction() as session:
        rows = session.execute(select(Alert.kind, Alert.source_ref, Alert.id)).all()
    alerts = {ref if kind == "intercepted_call" else f"{kind}:{ref}": i for kind, ref, i in rows}
    with store.transaction() as session:
        case = open_case(
            session, people.supervisor, "Алматы: SIM-ферма F0001", [alerts["r0"], alerts["r2"]]
        )
        add_to_case(session, people.supervisor, case.id, [alerts["r4"], alerts["sim_farm:F0001"]])
    with store.transaction() as session:
        claim(session, people.operator, alerts["r0"])
    with store.transaction() as session:
        record_outcome(
            session, people.operator, alerts["r0"], Outcome.ALREADY_PAID,
            note="paid 150 000 tenge", suffered=Money(Decimal("150000")), paid_to=[MULE],
        )  # fmt: skip
    with store.transaction() as session:
        add_note(session, people.supervisor, case.id, "Ферма в подвале на ул. Абая; <b>не</b> HTML")
        escalate(session, people.analyst, reason="ready for the prosecutor", case_id=case.id)
    return CaseWorld(store=store, url=url, people=people, case_id=case.id,
                     analysis=feed.findings, alerts=alerts)  # fmt: skip


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CaseWorld]:
    made = make_world(tmp_path_factory.mktemp("world"))
    yield made
    made.store.close()


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> KeyFolder:
    folder = KeyFolder(tmp_path_factory.mktemp("keys") / "keys")
    folder.generate()
    return folder


# -- a local time-stamping authority -------------------------------------------------------

_TSA_CONF = """
[ req ]
distinguished_name = dn
prompt = no
[ dn ]
CN = {cn}
[ ca_ext ]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[ tsa_ext ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = critical,timeStamping
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ tsa ]
default_tsa = tsa_config
[ tsa_config ]
dir = {dir}
serial = {dir}/serial
crypto_device = builtin
signer_cert = {dir}/tsa.pem
signer_key = {dir}/tsa.key
signer_digest = sha256
default_policy = 1.2.3.4.1
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = no
tsa_name = no
ess_cert_id_chain = no
ess_cert_id_alg = sha256
"""


def _openssl(*args: str, cwd: Path, stdin: bytes | None = None) -> bytes:
    done = subprocess.run(
        ["openssl", *args], cwd=cwd, input=stdin, capture_output=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr.decode()
    return done.stdout


@dataclass(frozen=True, slots=True)
class LocalTsa:
    url: str
    folder: Path
    ca_pem: Path
    chain_pem: Path
    """The CA and the TSA certificate."""


def make_tsa_pki(folder: Path, name: str = "Test TSA") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    conf = folder / "tsa.cnf"
    conf.write_text(_TSA_CONF.format(cn=name, dir=folder))
    (folder / "serial").write_text("01\n")
    _openssl("req", "-x509", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
             "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "30", "-subj", f"/CN={name} CA",
             "-config", str(conf), "-extensions", "ca_ext", cwd=folder)  # fmt: skip
    _openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
             "-keyout", "tsa.key", "-out", "tsa.csr", "-config", str(conf), cwd=folder)  # fmt: skip
    _openssl("x509", "-req", "-in", "tsa.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
             "-out", "tsa.pem", "-days", "30", "-extfile", str(conf), "-extensions", "tsa_ext", cwd=folder)  # fmt: skip
    (folder / "chain.pem").write_bytes(
        (folder / "ca.pem").read_bytes() + (folder / "tsa.pem").read_bytes()
    )
    return conf


def _handler(folder: Path, conf: Path) -> type[BaseHTTPRequestHandler]:
    class Answer(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            size = min(int(self.headers.get("Content-Length", "0")), 64 * 1024)
            query = self.rfile.read(size)
            (folder / "request.tsq").write_bytes(query)
            reply = _openssl("ts", "-reply", "-config", str(conf), "-queryfile", "request.tsq",
                             "-out", "-", cwd=folder)  # fmt: skip
            self.send_response(200)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *args: object) -> None:
            pass

    return Answer


@pytest.fixture(scope="module")
def tsa(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalTsa]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    folder = tmp_path_factory.mktemp("tsa")
    conf = make_tsa_pki(folder)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(folder, conf))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield LocalTsa(url=f"http://127.0.0.1:{server.server_port}/tsa", folder=folder,
                       ca_pem=folder / "ca.pem", chain_pem=folder / "chain.pem")  # fmt: skip
    finally:
        server.shutdown()
        server.server_close()
