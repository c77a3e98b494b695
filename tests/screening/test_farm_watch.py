"""The replay's farm watch: farms that live like people are listed as a group, and as they grow."""

from __future__ import annotations

from qalqan.screening.config import YOUNG_SIM_DAYS, load_config
from qalqan.screening.farm_watch import FarmWatch, FarmWatchSettings
from qalqan.screening.reputation import ReputationLists
from tests.screening.conftest import HOME_SUBSCRIBER, T0, make_subscribers

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


def _box_day(watch: FarmWatch, imei: str, *, hour: int = 0) -> None:
    """Five young SIMs, one after another, in one modem at site S005: a SIM box's channel."""
    for k, (imsi, number) in enumerate(YOUNG[10:15]):
        t = START + hour * 3600 + 300 * k
        watch.add(t=t, caller=number, callee=f"+7747900{k:04d}", imsi=imsi, imei=imei, site="S005")


def test_a_phone_whose_imei_a_modem_copies_is_not_stopped_with_the_box() -> None:
    """A box's modem may carry a real phone's IMEI. The box's SIMs are listed; the phone's owner,
    who used that IMEI in another town the same day, is not, and the IMEI, listed before the
    phone was seen, is taken back."""
    imei = "353456789012345"
    watch, lists = FarmWatch(make_subscribers()), ReputationLists()
    _box_day(watch, imei)
    assert watch.run(START + 2 * 3600, lists) > 0
    assert imei in lists.imeis and {imsi for imsi, _ in YOUNG[10:15]} <= set(lists.imsis)
    why = lists.imeis[imei].reason
    owner = "401770000000001"  # an old subscriber: the phone's owner, in another town
    watch.add(t=START + 3 * 3600, caller=HOME_SUBSCRIBER, callee=OLD[0], imsi=owner,
              imei=imei, site="S900")  # fmt: skip
    watch.run(START + 4 * 3600, lists)
    assert imei not in lists.imeis and watch.taken_back == 1
    assert owner not in lists.imsis and {imsi for imsi, _ in YOUNG[10:15]} <= set(lists.imsis)
    # nor listed again while the box goes on that day and the next
    _box_day(watch, imei, hour=5)
    _box_day(watch, imei, hour=26)
    watch.run(START + 27 * 3600, lists)
    assert imei not in lists.imeis and owner not in lists.imsis
    assert why == f"handset {imei} carried 5 SIMs in one day at site S005"


def test_an_old_sim_in_the_modem_at_the_box_is_one_handset_with_it() -> None:
    """An old SIM seen in the modem at the box's site is one handset with the box: listed with
    it, and the handset stays listed."""
    imei = "353456789012345"
    watch, lists = FarmWatch(make_subscribers()), ReputationLists()
    _box_day(watch, imei)
    owner = "401770000000001"
    watch.add(t=START + 3600, caller=HOME_SUBSCRIBER, callee=OLD[0], imsi=owner,
              imei=imei, site="S005")  # fmt: skip
    watch.run(START + 2 * 3600, lists)
    assert imei in lists.imeis and owner in lists.imsis and watch.taken_back == 0


def test_a_box_sim_grown_old_in_its_handset_makes_it_no_phone() -> None:
    """A SIM of the box is listed; when it is no longer young (120 days on) and calls through its
    handset elsewhere, it is still the box's, and the handset stays listed."""
    imei = "353456789012345"
    watch, lists = FarmWatch(make_subscribers()), ReputationLists()
    _box_day(watch, imei)
    watch.run(START + 2 * 3600, lists)
    later = START + 150 * 86_400.0
    imsi, number = YOUNG[10]
    watch.add(t=later, caller=number, callee=OLD[0], imsi=imsi, imei=imei, site="S900")
    watch.run(later + 3600, lists)
    assert imei in lists.imeis and watch.taken_back == 0
