"""A small hand-made operator for rule tests, and a small simulated one for replay tests."""

from __future__ import annotations

import dataclasses
import math
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from qalqan.domain.model import (
    Action,
    CallAttempt,
    Decision,
    Ingress,
    RegistryEntry,
    RegistryPolicy,
)
from qalqan.screening.config import ScreeningConfig, load_config, parse_config
from qalqan.screening.engine import ScreeningEngine
from qalqan.screening.network import CellSites, ProtectedNumbers, SubscriberFacts, Subscribers
from qalqan.screening.reputation import ReputationLists
from qalqan.screening.signals import CallOutcome
from qalqan.simulator.config import Scenario
from qalqan.simulator.operator import SimulationSummary, simulate

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
"""A Monday morning: the moment most test calls are made."""

HOME_SUBSCRIBER = "+77011000001"
ROAMER = "+77011000002"
ROAMER_IMSI = "401770000000002"
ELDERLY = "+77011000003"
YOUNG_ADULT = "+77011000004"
OPTED_IN = "+77011000005"
BANK_HOTLINE = "+77273100000"
BANK_OUTBOUND = "+77273501000"
BANK_TRUNK = "voip:bankdala"
OTHER_OPERATOR = "+77471234567"
"""A domestic mobile of another operator (not our subscriber)."""
FOREIGN = "+380671234567"
UNALLOCATED = "+77991234567"


def _day(d: date) -> float:
    return float((d - date(1970, 1, 1)).days * 86_400)


def _sub(
    imsi: str, msisdn: str, *, activated: date, birth_year: int = 1985, **kw: str
) -> SubscriberFacts:
    return SubscriberFacts(
        imsi=imsi,
        msisdn=msisdn,
        activated_s=_day(activated),
        plan=kw.get("plan", "prepaid"),
        birth_year=birth_year,
        owner_id=kw.get("owner"),
    )


def make_subscribers() -> Subscribers:
    """Our subscribers: one at home, one roaming in Turkey, an elderly one, and the young SIMs of farms."""
    subs = Subscribers()
    old = date(2020, 5, 1)
    subs.add(_sub("401770000000001", HOME_SUBSCRIBER, activated=old))
    subs.add(_sub(ROAMER_IMSI, ROAMER, activated=old))
    subs.add(_sub("401770000000003", ELDERLY, activated=old, birth_year=1950))
    subs.add(_sub("401770000000004", YOUNG_ADULT, activated=old, birth_year=1998))
    subs.add(_sub("401770000000005", OPTED_IN, activated=old, birth_year=1990))
    subs.protection_opt_in.add(OPTED_IN)
    subs.add_roaming(
        ROAMER_IMSI,
        (T0 - timedelta(days=3)).timestamp(),
        (T0 + timedelta(days=3)).timestamp(),
        "TR",
    )
    # A box of SIMs bought the same day, neighbouring IMSIs, one straw owner: a farm's stock.
    for i in range(20):
        subs.add(
            _sub(
                f"40177555000{i:04d}",
                f"+7702555{i:04d}",
                activated=date(2026, 2, 20),
                owner="P-straw",
            )
        )
    # Young SIMs bought one by one, from different owners (an evasive farm's stock).
    for i in range(20):
        subs.add(
            _sub(
                f"4017766{i:08d}",
                f"+7705666{i:04d}",
                activated=date(2026, 2, 1) + timedelta(days=i),
                owner=f"P{i}",
            )
        )
    # Ordinary old SIMs, each its own owner.
    for i in range(50):
        subs.add(
            _sub(
                f"4017700001{i:05d}",
                f"+770120{i:02d}{i:03d}",
                activated=old + timedelta(days=i),
                owner=f"O{i}",
            )
        )
    return subs


def make_registry() -> ProtectedNumbers:
    return ProtectedNumbers.from_entries(
        [
            RegistryEntry(
                number=BANK_HOTLINE,
                owner="Dala Bank, hotline",
                policy=RegistryPolicy.parse("inbound_only"),
            ),
            RegistryEntry(
                number=BANK_OUTBOUND,
                owner="Dala Bank, customer calls",
                policy=RegistryPolicy.parse(f"route:{BANK_TRUNK}"),
            ),
        ]
    )


def make_cells() -> CellSites:
    return CellSites(site_of={f"C{s:03d}-{k}": f"S{s:03d}" for s in range(10) for k in (1, 2, 3)})


def timeless(config: ScreeningConfig) -> ScreeningConfig:
    """``config`` without its time budget: on a busy machine a screen past the budget answers
    the deadline's action (by design), which is not what a test of a rule is about. Tests of the
    budget itself set one in their rules."""
    return dataclasses.replace(config, deadline_us=math.inf)


@dataclass
class Operator:
    """An engine over the hand-made operator, with helpers to make and screen calls."""

    config: ScreeningConfig = field(default_factory=lambda: timeless(load_config()))
    lists: ReputationLists = field(default_factory=ReputationLists)
    subscribers: Subscribers = field(default_factory=make_subscribers)
    engine: ScreeningEngine = field(init=False)
    answered_with: dict[CallAttempt, Action] = field(default_factory=dict)
    """The engine's action for each attempt screened, given back with its outcome."""

    def __post_init__(self) -> None:
        self.engine = ScreeningEngine(
            self.config,
            lists=self.lists,
            subscribers=self.subscribers,
            protected=make_registry(),
            cells=make_cells(),
        )

    def screen(self, attempt: CallAttempt) -> Decision:
        decision = self.engine.screen(attempt)
        self.answered_with[attempt] = decision.action
        return decision

    def ended(self, attempt: CallAttempt, *, answered: bool, duration_s: float = 0.0) -> None:
        """The call ended: reported with the engine's answer to it, as a switch would."""
        self.engine.observe(
            CallOutcome(
                attempt=attempt,
                answered=answered,
                duration_s=duration_s,
                action=self.answered_with.get(attempt),
            )
        )


def call(
    caller: str | None,
    callee: str = HOME_SUBSCRIBER,
    ingress: str = "international:carrierA",
    *,
    at: datetime = T0,
    imsi: str | None = None,
    imei: str | None = None,
    cell: str | None = None,
    seconds: float = 0.0,
    identity: str | None = None,
) -> CallAttempt:
    return CallAttempt(
        time=at + timedelta(seconds=seconds),
        caller=caller,
        callee=callee,
        ingress=Ingress.parse(ingress),
        imsi=imsi,
        imei=imei,
        cell=cell,
        identity=identity,
        record_id=f"r{int(seconds * 1000)}",
    )


@pytest.fixture
def operator() -> Operator:
    return Operator()


@pytest.fixture
def operator_with() -> Callable[..., Operator]:
    """An operator whose rules file is the defaults plus the YAML given."""

    def make(yaml_text: str = "", lists: ReputationLists | None = None) -> Operator:
        config = parse_config(yaml_text) if yaml_text else load_config()
        if "deadline" not in yaml_text:
            config = timeless(config)
        return Operator(config=config, lists=lists or ReputationLists())

    return make


@pytest.fixture(scope="session")
def small_operator(tmp_path_factory: pytest.TempPathFactory) -> SimulationSummary:
    """A small simulated operator: 600 subscribers over 2 days, every kind of fraud."""
    return simulate(
        tmp_path_factory.mktemp("small-operator"), Scenario(subscribers=600, days=2, seed=5)
    )


def rules_of(decision: Decision) -> set[str]:
    return {r.rule for r in decision.reasons}


def data_dir(summary: SimulationSummary) -> Path:
    return summary.out_dir


# --- a Redis of the test's own, for the cluster's tests -------------------------------------------


@dataclass
class RedisServer:
    """A ``redis-server`` on a free port in a folder of its own, which a test may kill and restart.

    It keeps its data in an append-only file (``--appendonly yes``, no RDB snapshots), so
    that a restart in the same folder finds the stream again; :meth:`restart` with
    ``keep_data=False`` starts it in a fresh folder, as a store that lost its disk.
    """

    root: Path
    port: int = 0
    process: subprocess.Popen[bytes] | None = None
    lives: int = 0

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        if not self.port:
            self.port = _free_tcp_port()
        folder = self.root / f"life-{self.lives}"
        folder.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [
                str(shutil.which("redis-server")),
                "--port", str(self.port),
                "--bind", "127.0.0.1",
                "--save", "",
                "--appendonly", "yes",
                "--appendfsync", "always",
                "--dir", str(folder),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.02)
        raise RuntimeError(f"redis-server did not listen on {self.port}")

    def kill(self) -> None:
        """Kill the server at once (SIGKILL), as a store lost to a crash."""
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None

    def restart(self, *, keep_data: bool = True) -> None:
        self.kill()
        if not keep_data:
            self.lives += 1
        self.start()


def _free_tcp_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A fresh ``redis-server`` of the test's own (skipped when the binary is missing)."""
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    server = RedisServer(tmp_path / "redis")
    server.start()
    try:
        yield server
    finally:
        server.kill()
