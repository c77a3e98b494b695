"""The replay's farm watch: farms that live like people are listed as a group, and as they grow."""

from __future__ import annotations

from qalqan.screening.config import YOUNG_SIM_DAYS, load_config
from qalqan.screening.farm_watch import FarmWatch, FarmWatchSettings
from qalqan.screening.reputation import ReputationLists
from tests.screening.conftest import T0, make_subscribers

YOUNG = [(f"4017766{i:08d}", f"+7705666{i:04d}") for i in range(20)]
"""The hand-made operator's young SIMs, bought one by one (an evasive farm's stock)."""
OLD = [f"+770120{i:02d}{i:03d}" for i in range(50)]
START = T0.timestamp()


def farm_hour(
    watch: FarmWatch, members: list[tuple[str, str]], hour: int, *, kept: bool = False
) -> None:
    """An hour of a farm faking its SIMs' lives: texts among them, calls to strangers, call-backs.

    ``kept``: each SIM also calls the same two old subscribers (people it keeps in touch with).
    """
    t = START + hour * 3600
    n = len(members)
    for k, (imsi, number) in enumerate(members):
        s = t + 60 * k

        def add(callee: str, at: float, me: str = imsi, caller: str = number) -> None:
            watch.add(t=at, caller=caller, callee=callee, imsi=me,
                      imei=f"35{me[-8:]}0000", site="S005")  # fmt: skip

        add(members[(k + 1) % n][1], s)
        add(members[(k + 2) % n][1], s + 1)
        for j in range(2):
            add(f"+7747{hour:03d}{k:02d}{j:02d}", s + 2 + j)  # strangers, another operator's
        watch.add(t=s + 30, caller=f"+7750{hour:03d}{k:04d}", callee=number,
                  imsi=None, imei=None, site=None)  # fmt: skip  # a call-back from outside
        if kept:
            for friend in OLD[2 * k : 2 * k + 2]:
                add(friend, s + 40)


def test_a_farm_whose_sims_are_called_back_from_outside_is_still_listed() -> None:
    watch, lists = FarmWatch(make_subscribers()), ReputationLists()
    farm = YOUNG[:6]
    farm_hour(watch, farm, 0)
    farm_hour(watch, farm, 1)
    watch.run(START + 2 * 3600, lists)
    assert {imsi for imsi, _ in farm} <= set(lists.imsis)
    listing = lists.imsis[farm[0][0]]
    assert "keep in touch with nobody else" in listing.reason
    assert not listing.applies(START + 2 * 3600 - 1)


def test_young_sims_that_keep_in_touch_with_people_are_not_listed() -> None:
    watch, lists = FarmWatch(make_subscribers()), ReputationLists()
    farm = YOUNG[:6]
    farm_hour(watch, farm, 0, kept=True)
    farm_hour(watch, farm, 1, kept=True)
    watch.run(START + 2 * 3600, lists)
    assert not set(lists.imsis) & {imsi for imsi, _ in farm}


def test_a_new_sim_joining_a_listed_farm_is_listed_at_the_next_run() -> None:
    watch, lists = FarmWatch(make_subscribers()), ReputationLists()
    farm = YOUNG[:6]
    farm_hour(watch, farm, 0)
    watch.run(START + 3600, lists)
    newcomer = YOUNG[10]
    assert newcomer[0] not in lists.imsis
    farm_hour(watch, [*farm, newcomer], 1)
    watch.run(START + 2 * 3600, lists)
    assert newcomer[0] in lists.imsis


def test_the_watch_and_the_engine_share_one_young_sim() -> None:
    assert FarmWatchSettings().young_sim_days == YOUNG_SIM_DAYS
    assert load_config(None).young_sim_days == YOUNG_SIM_DAYS
