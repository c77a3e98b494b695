"""What a verdict's reasons say, in Russian, Kazakh and English: the message catalog.

A screening reason is kept as a message *key* and the *facts* that fill it
(:class:`~qalqan.domain.model.Reason`), not as a finished sentence, because
one decision is read by operators in three languages: the console renders
the same reason in the operator's language, while log lines, SIP headers and
``decisions.csv`` keep the English ``detail``, rendered from the same
catalog, so the two never say different things::

    >>> facts = {"imei": "35875908000001", "sims": "41", "window": "24h"}
    >>> render("sim_farm.handset_many_sims", facts)
    'IMEI 35875908000001 carried 41 different SIMs in 24h'
    >>> render("sim_farm.handset_many_sims", facts, "ru")
    'аппарат IMEI 35875908000001: разных SIM-карт за 24 ч — 41'

Keys are the rule's id, or ``<rule id>.<variant>`` when a rule says more
than one thing. Templates are :meth:`str.format` templates with plain named
fields (``{caller}``), no format specs: facts arrive as finished strings
(numbers formatted by the rule), so that every language prints the same
value and a reason read back from a file renders exactly as it was written.
Every language of a key uses the same fields (a test checks).

Counts are written so that no grammatical number is needed ("SIM-карт за
24 ч — 41", "SIM-карта саны: 41"): Russian plural forms depend on the
number, and facts are plain strings.

One kind of fact is localised while rendering: a duration (the fact
``window``) is written as the rolling features name it — ``90s``, ``10m``,
``24h``, ``30d`` — and a unit letter means nothing to a Russian or Kazakh
reader, so :func:`render` spells the unit in the operator's language.

A reason is a :class:`Reason`, defined here beside the catalog that renders
it (and known everywhere as ``qalqan.domain.model.Reason``). Every file Qalqan
writes keeps its reasons as data next to the English text: the replay in
``decisions.csv``, ``qalqan analyze`` in ``calls.csv``, ``sims.csv``,
``farms.csv``, ``campaigns.csv`` and ``accounts.csv`` (keys ``analysis.*``,
listed in ``docs/analytics.md``), each in the column ``reason_facts`` (see
``docs/exchange-format.md``): :func:`reasons_cell` writes one cell and
:func:`parse_reasons` reads it back, each reason as :meth:`Reason.as_data`
gives it.
"""

from __future__ import annotations

import json
import math
import re
import string
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Final

__all__ = [
    "DURATION_FACTS",
    "LANGUAGES",
    "MESSAGES",
    "Reason",
    "parse_reasons",
    "reasons_cell",
    "render",
]

LANGUAGES: Final = ("ru", "kk", "en")
"""The console's languages, Russian first (as in ``qalqan.console.i18n``); English is the fallback."""

_FAIL_OPEN_ACTION: Final = {
    "en": "answered '{action}' unscreened, the action set for {ingress} calls when screening "
    "cannot answer",
    "ru": "без проверки применено действие «{action}», заданное для вызовов класса {ingress} "
    "на случай, когда проверка не может ответить",
    "kk": "тексерусіз «{action}» әрекеті қолданылды: бұл әрекет тексеру жауап бере алмағанда "
    "{ingress} қоңыраулары үшін белгіленген",
}
"""How every fail-open reason ends: the call was not judged, and the action answered is the one
set for its ingress class (``fail_open_by_ingress``, else the default action, which is then
the action set for every class): ``ingress`` is the class."""


def _unscreened(lead: Mapping[str, str]) -> dict[str, str]:
    return {lang: f"{lead[lang]}; {_FAIL_OPEN_ACTION[lang]}" for lang in LANGUAGES}


MESSAGES: Final[Mapping[str, Mapping[str, str]]] = {
    # --- spoofed caller IDs and the facts that vouch for a genuine one ------------------------
    "spoofed_cli.registry_inbound_only": {
        "en": "presents {caller} ({owner}), a number that never calls out",
        "ru": "подменный номер {caller} ({owner}): с этого номера никогда не звонят",
        "kk": "ауыстырылған нөмір {caller} ({owner}): бұл нөмірден ешқашан қоңырау шалынбайды",
    },
    "spoofed_cli.registry_wrong_route": {
        "en": "presents {caller} ({owner}) over {route}; it calls only over {routes}",
        "ru": "номер {caller} ({owner}) пришёл по маршруту {route}, а звонит только через {routes}",
        "kk": "{caller} ({owner}) нөмірі {route} маршрутымен келді, ал ол тек {routes} арқылы қоңырау шалады",
    },
    "trusted_caller.registered_route": {
        "en": "{owner} calling from {caller} over its registered route {route}",
        "ru": "{owner} звонит с номера {caller} по своему зарегистрированному маршруту {route}",
        "kk": "{owner} {caller} нөмірінен өзінің тіркелген {route} маршрутымен қоңырау шалуда",
    },
    "spoofed_cli.own_subscriber_at_home": {
        "en": "presents our subscriber {subscriber} over {route}, but that SIM is at home, not roaming",
        "ru": "номер нашего абонента {subscriber} пришёл по маршруту {route}, но его SIM-карта в домашней сети, не в роуминге",
        "kk": "біздің абоненттің {subscriber} нөмірі {route} маршрутымен келді, бірақ оның SIM-картасы елде, роумингте емес",
    },
    "spoofed_cli.own_subscriber_at_home.no_roaming_data": {
        "en": "presents our subscriber {subscriber} over {route}; no roaming data to tell whether that SIM is abroad",
        "ru": "номер нашего абонента {subscriber} пришёл по маршруту {route}; данных о роуминге нет, проверить, за границей ли SIM-карта, нельзя",
        "kk": "біздің абоненттің {subscriber} нөмірі {route} маршрутымен келді; роуминг деректері жоқ, SIM-картаның шетелде екенін тексеру мүмкін емес",
    },
    "spoofed_cli.own_subscriber_at_home.national": {
        "en": "presents our subscriber {subscriber} over national interconnect {route}, but that SIM is on our network",
        "ru": "номер нашего абонента {subscriber} пришёл через межоператорский стык {route}, но его SIM-карта в нашей сети",
        "kk": "біздің абоненттің {subscriber} нөмірі операторлар арасындағы {route} түйісуі арқылы келді, бірақ оның SIM-картасы біздің желіде",
    },
    "roaming.subscriber_abroad": {
        "en": "our subscriber {subscriber} is registered abroad ({country}): a call home",
        "ru": "наш абонент {subscriber} зарегистрирован в роуминге ({country}): звонок домой",
        "kk": "біздің абонент {subscriber} шетелде роумингте тіркелген ({country}): елге қоңырау",
    },
    "spoofed_cli.domestic_from_abroad": {
        "en": "domestic number {caller} arrived over {route} and never had contact with {callee}",
        "ru": "номер нашей страны {caller} пришёл по маршруту {route} и ранее не связывался с {callee}",
        "kk": "{caller} отандық нөмірі {route} маршрутымен келді, бұрын {callee} нөмірімен байланыспаған",
    },
    "spoofed_cli.domestic_from_abroad.our_radio": {
        "en": "domestic number {caller} arrived over {route} with no earlier contact with {callee}; "
        "it has called over our own network, so it may be our roaming subscriber",
        "ru": "номер нашей страны {caller} пришёл по маршруту {route} и ранее не связывался с {callee}; "
        "этот номер звонил через нашу сеть, возможно, это наш абонент в роуминге",
        "kk": "{caller} отандық нөмірі {route} маршрутымен келді, бұрын {callee} нөмірімен байланыспаған; "
        "бұл нөмір біздің желі арқылы қоңырау шалған, мүмкін, бұл роумингтегі біздің абонент",
    },
    "spoofed_cli.unallocated": {
        "en": "presents {caller}, which lies in no allocated number range",
        "ru": "подменный номер {caller}: он не входит ни в один выделенный диапазон номеров",
        "kk": "ауыстырылған нөмір {caller}: ол ешбір бөлінген нөмірлер ауқымына кірмейді",
    },
    "spoofed_cli.withheld_from_abroad": {
        "en": "caller ID withheld on a call over {route}",
        "ru": "номер звонящего скрыт, звонок по маршруту {route}",
        "kk": "{route} маршрутымен келген қоңырауда нөмір жасырылған",
    },
    "spoofed_cli.route_wave": {
        "en": "{spoofed} of {calls} calls over {route} in the last {window} carried impossible "
        "caller IDs, and this caller never had contact with the callee",
        "ru": "волна подменных номеров на маршруте {route}: за {window} звонков с невозможными "
        "номерами — {spoofed} из {calls}; звонящий раньше не связывался с этим абонентом",
        "kk": "{route} маршрутында ауыстырылған нөмірлер толқыны: соңғы {window} ішінде мүмкін емес "
        "нөмірлі қоңыраулар — {calls} қоңыраудың {spoofed}; қоңырау шалушы бұрын бұл абонентпен байланыспаған",
    },
    # --- Wangiri and dialling through number blocks -------------------------------------------
    "wangiri.one_ring_burst": {
        "en": "one-ring burst: {one_ring} of {ended} ended calls from {range} in the last {window} "
        "rang off unanswered, {callees} people rung",
        "ru": "Wangiri (один гудок): с диапазона {range} за {window} сброшено без ответа звонков — "
        "{one_ring} из {ended} завершённых; обзвонено людей: {callees}",
        "kk": "Wangiri (бір сигнал): {range} ауқымынан соңғы {window} ішінде жауапсыз үзілген "
        "қоңыраулар — аяқталған {ended} қоңыраудың {one_ring}; қоңырау шалынған адамдар саны: {callees}",
    },
    "wangiri.one_ring_burst.continues": {
        "en": "one-ring burst goes on: {callees} people rung from {range} in the last {window}, "
        "its range's calls found ringing off unanswered minutes ago",
        "ru": "Wangiri (один гудок) продолжается: с диапазона {range} за {window} обзвонено людей: "
        "{callees}; звонки с этого диапазона недавно сбрасывались без ответа",
        "kk": "Wangiri (бір сигнал) жалғасуда: {range} ауқымынан соңғы {window} ішінде қоңырау "
        "шалынған адамдар саны: {callees}; бұл ауқымның қоңыраулары жақында жауапсыз үзілген",
    },
    "wangiri.calling_burst": {
        "en": "{callees} different people rung from {range} in the last {window}; "
        "the callee never talked with this number",
        "ru": "с диапазона {range} за {window} обзвонено разных людей: {callees}; "
        "абонент прежде не общался с этим номером",
        "kk": "{range} ауқымынан соңғы {window} ішінде қоңырау шалынған әртүрлі адамдар саны: "
        "{callees}; абонент бұрын бұл нөмірмен байланыспаған",
    },
    "sequential_dialling.number_blocks": {
        "en": "SIM {imsi} dialled {dialled} numbers of the block {block}xx in the last {window}",
        "ru": "с SIM-карты {imsi} за {window} набрано разных номеров из блока {block}xx: {dialled}",
        "kk": "{imsi} SIM-картасынан соңғы {window} ішінде {block}xx блогынан терілген әртүрлі нөмірлер саны: {dialled}",
    },
    "sequential_dialling.number_blocks.route": {
        "en": "route {route} dialled {dialled} numbers of the block {block}xx in the last {window}",
        "ru": "с маршрута {route} за {window} набрано разных номеров из блока {block}xx: {dialled}",
        "kk": "{route} маршрутынан соңғы {window} ішінде {block}xx блогынан терілген әртүрлі нөмірлер саны: {dialled}",
    },
    # --- SIM boxes and SIM farms --------------------------------------------------------------
    "sim_farm.handset_many_sims": {
        "en": "IMEI {imei} carried {sims} different SIMs in {window}",
        "ru": "аппарат IMEI {imei}: разных SIM-карт за {window} — {sims}",
        "kk": "IMEI {imei} құрылғысы: {window} ішіндегі әртүрлі SIM-карта саны — {sims}",
    },
    "sim_farm.young_sims_at_site": {
        "en": "SIM {imsi}, {age_days} days old, is one of {young} SIMs younger than {young_days} "
        "days calling from site {site} in {window} ({share} of its callers)",
        "ru": "SIM-карта {imsi} (возраст: {age_days} дн.) — одна из молодых SIM-карт (моложе "
        "{young_days} дн.), звонивших с площадки {site} за {window}; таких SIM-карт: {young}, "
        "это {share} звонящих с площадки",
        "kk": "{imsi} SIM-картасы (жасы: {age_days} күн) — {window} ішінде {site} алаңынан қоңырау "
        "шалған жас SIM-карталардың бірі ({young_days} күннен жас); мұндай SIM-карта саны: {young}, "
        "бұл алаңнан қоңырау шалушылардың {share}",
    },
    "sim_farm.activation_batch": {
        "en": "SIM {imsi} is one of {active} SIMs activated the same day with neighbouring IMSIs "
        "({batch}xxx) that called in {window}",
        "ru": "SIM-карта {imsi} из партии, активированной в один день (соседние IMSI "
        "{batch}xxx); SIM-карт этой партии, звонивших за {window}: {active}",
        "kk": "{imsi} SIM-картасы бір күнде іске қосылған топтамадан (көрші IMSI нөмірлері "
        "{batch}xxx); {window} ішінде қоңырау шалған топтамадағы SIM-карта саны: {active}",
    },
    "sim_farm.straw_owner": {
        "en": "SIM {imsi} is one of {active} SIMs registered to owner {owner} that called in {window}",
        "ru": "SIM-карта {imsi} оформлена на владельца {owner}; SIM-карт этого владельца, звонивших за {window}: {active}",
        "kk": "{imsi} SIM-картасы {owner} иесіне тіркелген; осы иенің {window} ішінде қоңырау шалған SIM-карта саны: {active}",
    },
    "sim_box.calls_without_incoming": {
        "en": "SIM {imsi}, {age_days} days old, called {callees} different people in {window} "
        "and received {received} calls or SMS",
        "ru": "SIM-карта {imsi} (возраст: {age_days} дн.) за {window} звонила разным людям: "
        "{callees}; входящих звонков и SMS: {received}",
        "kk": "{imsi} SIM-картасы (жасы: {age_days} күн) {window} ішінде қоңырау шалған әртүрлі "
        "адамдар саны: {callees}; кіріс қоңыраулар мен SMS саны: {received}",
    },
    "sim_box.calls_without_incoming.age_unknown": {
        "en": "SIM {imsi} called {callees} different people in {window} "
        "and received {received} calls or SMS",
        "ru": "SIM-карта {imsi} за {window} звонила разным людям: {callees}; "
        "входящих звонков и SMS: {received}",
        "kk": "{imsi} SIM-картасы {window} ішінде қоңырау шалған әртүрлі адамдар саны: "
        "{callees}; кіріс қоңыраулар мен SMS саны: {received}",
    },
    # --- reputation lists: who listed it and why ----------------------------------------------
    "reputation.caller_number": {
        "en": "number {caller} listed by {source} ({reason})",
        "ru": "номер {caller} в списке: {source} ({reason})",
        "kk": "{caller} нөмірі тізімде: {source} ({reason})",
    },
    "reputation.caller_number.no_reason": {
        "en": "number {caller} listed by {source}",
        "ru": "номер {caller} в списке: {source}",
        "kk": "{caller} нөмірі тізімде: {source}",
    },
    "reputation.caller_number.range": {
        "en": "number {caller} of range {range}xx listed by {source} ({reason})",
        "ru": "номер {caller} из диапазона {range}xx, который в списке: {source} ({reason})",
        "kk": "{caller} нөмірі тізімдегі {range}xx ауқымынан: {source} ({reason})",
    },
    "reputation.caller_number.range.no_reason": {
        "en": "number {caller} of range {range}xx listed by {source}",
        "ru": "номер {caller} из диапазона {range}xx, который в списке: {source}",
        "kk": "{caller} нөмірі тізімдегі {range}xx ауқымынан: {source}",
    },
    "reputation.sim": {
        "en": "SIM {imsi} listed by {source} ({reason})",
        "ru": "SIM-карта {imsi} в списке: {source} ({reason})",
        "kk": "{imsi} SIM-картасы тізімде: {source} ({reason})",
    },
    "reputation.sim.no_reason": {
        "en": "SIM {imsi} listed by {source}",
        "ru": "SIM-карта {imsi} в списке: {source}",
        "kk": "{imsi} SIM-картасы тізімде: {source}",
    },
    "reputation.handset": {
        "en": "IMEI {imei} listed by {source} ({reason})",
        "ru": "аппарат IMEI {imei} в списке: {source} ({reason})",
        "kk": "IMEI {imei} құрылғысы тізімде: {source} ({reason})",
    },
    "reputation.handset.no_reason": {
        "en": "IMEI {imei} listed by {source}",
        "ru": "аппарат IMEI {imei} в списке: {source}",
        "kk": "IMEI {imei} құрылғысы тізімде: {source}",
    },
    "reputation.farm_cell": {
        "en": "SIM {imsi}, {age_days} days old, calling from cell {cell} listed by {source} ({reason})",
        "ru": "SIM-карта {imsi} (возраст: {age_days} дн.) звонит из соты {cell}, которая в списке: {source} ({reason})",
        "kk": "{imsi} SIM-картасы (жасы: {age_days} күн) тізімдегі {cell} ұяшығынан қоңырау шалуда: {source} ({reason})",
    },
    "reputation.farm_cell.no_reason": {
        "en": "SIM {imsi}, {age_days} days old, calling from cell {cell} listed by {source}",
        "ru": "SIM-карта {imsi} (возраст: {age_days} дн.) звонит из соты {cell}, которая в списке: {source}",
        "kk": "{imsi} SIM-картасы (жасы: {age_days} күн) тізімдегі {cell} ұяшығынан қоңырау шалуда: {source}",
    },
    "reputation.farm_cell.site": {
        "en": "SIM {imsi}, {age_days} days old, calling from site {site} listed by {source} ({reason})",
        "ru": "SIM-карта {imsi} (возраст: {age_days} дн.) звонит с площадки {site}, которая в списке: {source} ({reason})",
        "kk": "{imsi} SIM-картасы (жасы: {age_days} күн) тізімдегі {site} алаңынан қоңырау шалуда: {source} ({reason})",
    },
    "reputation.farm_cell.site.no_reason": {
        "en": "SIM {imsi}, {age_days} days old, calling from site {site} listed by {source}",
        "ru": "SIM-карта {imsi} (возраст: {age_days} дн.) звонит с площадки {site}, которая в списке: {source}",
        "kk": "{imsi} SIM-картасы (жасы: {age_days} күн) тізімдегі {site} алаңынан қоңырау шалуда: {source}",
    },
    # --- STIR/SHAKEN --------------------------------------------------------------------------
    "stir_shaken.identity.failed": {
        "en": "Identity header failed verification: {failure}",
        "ru": "заголовок Identity не прошёл проверку: {failure}",
        "kk": "Identity тақырыбы тексеруден өтпеді: {failure}",
    },
    "stir_shaken.identity.full": {
        "en": "Identity header verified with full attestation (A)",
        "ru": "заголовок Identity проверен, полная аттестация (A)",
        "kk": "Identity тақырыбы тексерілді, толық аттестация (A)",
    },
    "stir_shaken.identity.gateway": {
        "en": "Identity header verified with gateway attestation (C) only: "
        "the carrier does not know the caller",
        "ru": "заголовок Identity проверен, но аттестация только шлюзовая (C): "
        "оператор не знает, кто звонит",
        "kk": "Identity тақырыбы тексерілді, бірақ тек шлюздік аттестация (C): "
        "оператор қоңырау шалушыны білмейді",
    },
    "stir_shaken.identity.upstream.full": {
        "en": "caller ID verified by the network with full attestation (A)",
        "ru": "номер звонящего проверен сетью, полная аттестация (A)",
        "kk": "қоңырау шалушының нөмірі желіде тексерілді, толық аттестация (A)",
    },
    "stir_shaken.identity.upstream.gateway": {
        "en": "caller ID verified by the network with gateway attestation (C) only: "
        "the carrier does not know the caller",
        "ru": "номер звонящего проверен сетью, но аттестация только шлюзовая (C): "
        "оператор не знает, кто звонит",
        "kk": "қоңырау шалушының нөмірі желіде тексерілді, бірақ тек шлюздік аттестация (C): "
        "оператор қоңырау шалушыны білмейді",
    },
    # --- the engine's own reasons -------------------------------------------------------------
    "vulnerable_callee.opted_in": {
        "en": "callee {callee} asked to be protected: warned at a lower score",
        "ru": "абонент {callee} сам попросил защиту: предупреждение при более низкой оценке",
        "kk": "{callee} абоненті қорғауды өзі сұраған: ескерту төменірек бағада беріледі",
    },
    "vulnerable_callee.by_age": {
        "en": "callee {callee} is {age} and protected by default: warned at a lower score",
        "ru": "возраст абонента {callee}: {age}; защищён по умолчанию: предупреждение при более низкой оценке",
        "kk": "{callee} абонентінің жасы: {age}; әдепкі бойынша қорғалған: ескерту төменірек бағада беріледі",
    },
    "roaming.guard": {
        "en": "our subscriber {subscriber} is registered abroad ({country}): never {action}ed, {cap} at most",
        "ru": "наш абонент {subscriber} зарегистрирован в роуминге ({country}): действие «{action}» "
        "к его звонкам не применяется, самое строгое — «{cap}»",
        "kk": "біздің абонент {subscriber} шетелде роумингте тіркелген ({country}): оның қоңырауларына "
        "«{action}» әрекеті қолданылмайды, ең қатаңы — «{cap}»",
    },
    "deadline.missed": {
        "en": "screening took {elapsed_us} µs, past the {budget_us} µs budget; "
        "answered the default action '{action}'",
        "ru": "проверка заняла {elapsed_us} мкс — больше лимита {budget_us} мкс; "
        "применено действие по умолчанию «{action}»",
        "kk": "тексеруге {elapsed_us} мкс кетті — {budget_us} мкс шегінен асты; "
        "әдепкі «{action}» әрекеті қолданылды",
    },
    # --- the SIP and HTTP faces: calls passed on without a verdict ----------------------------
    "sip.unscreened": {
        "en": "the Request-URI names no telephone number; passed on unscreened",
        "ru": "в Request-URI нет телефонного номера; вызов пропущен без проверки",
        "kk": "Request-URI ішінде телефон нөмірі жоқ; қоңырау тексерусіз өткізілді",
    },
    "sip.fail_open.store": _unscreened(
        {
            "en": "the cluster's shared state could not be reached (or was still being caught up)",
            "ru": "общее состояние кластера недоступно (или ещё загружается)",
            "kk": "кластердің ортақ күйіне қол жеткізу мүмкін болмады (немесе ол әлі жүктелуде)",
        }
    ),
    "sip.fail_open.overload": _unscreened(
        {
            "en": "the screening node was over capacity",
            "ru": "узел проверки перегружен",
            "kk": "тексеру түйіні шамадан тыс жүктелген",
        }
    ),
    "sip.fail_open.expired": _unscreened(
        {
            "en": "waited {waited_ms} ms in the queue, past the deadline",
            "ru": "вызов ждал в очереди {waited_ms} мс — дольше допустимого",
            "kk": "қоңырау кезекте {waited_ms} мс күтті — рұқсат етілген уақыттан ұзақ",
        }
    ),
    "sip.fail_open.error": _unscreened(
        {
            "en": "screening failed ({error_type})",
            "ru": "сбой проверки ({error_type})",
            "kk": "тексеру сәтсіз аяқталды ({error_type})",
        }
    ),
    "sip.fail_open.error.refused": _unscreened(
        {
            "en": "screening failed: {error}",
            "ru": "сбой проверки: {error}",
            "kk": "тексеру сәтсіз аяқталды: {error}",
        }
    ),
    "sip.fail_open.deadline": _unscreened(
        {
            "en": "screening took {elapsed_ms} ms, past the {deadline_ms} ms deadline",
            "ru": "проверка заняла {elapsed_ms} мс — больше лимита {deadline_ms} мс",
            "kk": "тексеруге {elapsed_ms} мс кетті — {deadline_ms} мс шегінен асты",
        }
    ),
    "http.fail_open.error": _unscreened(
        {
            "en": "screening failed ({error_type})",
            "ru": "сбой проверки ({error_type})",
            "kk": "тексеру сәтсіз аяқталды ({error_type})",
        }
    ),
    "http.fail_open.error.refused": _unscreened(
        {
            "en": "screening failed: {error}",
            "ru": "сбой проверки: {error}",
            "kk": "тексеру сәтсіз аяқталды: {error}",
        }
    ),
    "http.fail_open.store": _unscreened(
        {
            "en": "the cluster's shared state could not be reached (or was still being caught up)",
            "ru": "общее состояние кластера недоступно (или ещё загружается)",
            "kk": "кластердің ортақ күйіне қол жеткізу мүмкін болмады (немесе ол әлі жүктелуде)",
        }
    ),
    "http.fail_open.overload": _unscreened(
        {
            "en": "the screening node was over capacity",
            "ru": "узел проверки перегружен",
            "kk": "тексеру түйіні шамадан тыс жүктелген",
        }
    ),
    "http.fail_open.expired": _unscreened(
        {
            "en": "waited {waited_ms} ms in the queue, past the deadline",
            "ru": "вызов ждал в очереди {waited_ms} мс — дольше допустимого",
            "kk": "қоңырау кезекте {waited_ms} мс күтті — рұқсат етілген уақыттан ұзақ",
        }
    ),
    "http.fail_open.deadline": _unscreened(
        {
            "en": "screening took {elapsed_ms} ms, past the {deadline_ms} ms deadline",
            "ru": "проверка заняла {elapsed_ms} мс — больше лимита {deadline_ms} мс",
            "kk": "тексеруге {elapsed_ms} мс кетті — {deadline_ms} мс шегінен асты",
        }
    ),
    "sip.client_time_ignored": {
        "en": "the INVITE's Date {client_time} is more than {skew_s} s from the node's own clock; "
        "judged at the node's own clock, {node_time}",
        "ru": "дата INVITE {client_time} расходится с часами узла больше чем на {skew_s} с; "
        "проверено по часам узла, {node_time}",
        "kk": "INVITE күні {client_time} түйін сағатынан {skew_s} с-тан артық ауытқиды; "
        "түйін сағаты бойынша тексерілді, {node_time}",
    },
    "http.client_time_ignored": {
        "en": "the client's time {client_time} is more than {skew_s} s from the node's own clock; "
        "judged at the node's own clock, {node_time}",
        "ru": "время клиента {client_time} расходится с часами узла больше чем на {skew_s} с; "
        "проверено по часам узла, {node_time}",
        "kk": "клиент уақыты {client_time} түйін сағатынан {skew_s} с-тан артық ауытқиды; "
        "түйін сағаты бойынша тексерілді, {node_time}",
    },
    # --- findings of `qalqan analyze` as the case store tells them (qalqan.cases.ingest) -------
    "finding.farm": {
        "en": "{sims} SIMs in {handsets} handsets; equipment estimated at {lat}, {lon} (site {site})",
        "ru": "SIM-карт: {sims}, аппаратов: {handsets}; оборудование, по оценке, в точке {lat}, {lon} (вышка {site})",
        "kk": "SIM-карта саны: {sims}, құрылғы саны: {handsets}; жабдық шамамен {lat}, {lon} нүктесінде ({site} мұнарасы)",
    },
    "finding.farm.no_site": {
        "en": "{sims} SIMs in {handsets} handsets; equipment estimated at {lat}, {lon}",
        "ru": "SIM-карт: {sims}, аппаратов: {handsets}; оборудование, по оценке, в точке {lat}, {lon}",
        "kk": "SIM-карта саны: {sims}, құрылғы саны: {handsets}; жабдық шамамен {lat}, {lon} нүктесінде",
    },
    "finding.farm.unplaced": {
        "en": "{sims} SIMs in {handsets} handsets; place unknown",
        "ru": "SIM-карт: {sims}, аппаратов: {handsets}; место неизвестно",
        "kk": "SIM-карта саны: {sims}, құрылғы саны: {handsets}; орны белгісіз",
    },
    "finding.campaign": {
        "en": "{calls} fraud calls to {people} people",
        "ru": "мошеннических звонков: {calls}, людей: {people}",
        "kk": "алаяқтық қоңыраулар: {calls}, адамдар: {people}",
    },
    "finding.campaign.offset": {
        "en": "the call center works at UTC{offset} (from its hourly activity)",
        "ru": "колл-центр работает по UTC{offset} (по часам его активности)",
        "kk": "колл-орталық UTC{offset} уақытымен жұмыс істейді (белсенділік сағаттары бойынша)",
    },
    "finding.campaign.farm": {
        "en": "calls through farm {farms}",
        "ru": "звонит через ферму {farms}",
        "kk": "{farms} фермасы арқылы қоңырау шалады",
    },
    "finding.campaign.farms": {
        "en": "calls through farms {farms}",
        "ru": "звонит через фермы {farms}",
        "kk": "{farms} фермалары арқылы қоңырау шалады",
    },
    "finding.campaign.routes": {
        "en": "calls over {routes}",
        "ru": "звонит по маршрутам: {routes}",
        "kk": "қоңырау маршруттары: {routes}",
    },
    "finding.wave.campaign": {
        "en": "{calls} calls with spoofed caller IDs from campaign {campaign} on {day}; "
        "numbers presented: {numbers}",
        "ru": "звонков с подменных номеров: {calls} — кампания {campaign}, {day}; разных номеров: {numbers}",
        "kk": "ауыстырылған нөмірлерден қоңыраулар: {calls} — {campaign} науқаны, {day}; әртүрлі нөмірлер: {numbers}",
    },
    "finding.wave.campaign.examples": {
        "en": "{calls} calls with spoofed caller IDs from campaign {campaign} on {day}; "
        "numbers presented: {numbers} (most: {examples})",
        "ru": "звонков с подменных номеров: {calls} — кампания {campaign}, {day}; разных номеров: {numbers} "
        "(чаще всего: {examples})",
        "kk": "ауыстырылған нөмірлерден қоңыраулар: {calls} — {campaign} науқаны, {day}; әртүрлі нөмірлер: {numbers} "
        "(ең жиі: {examples})",
    },
    "finding.wave.route": {
        "en": "{calls} calls with spoofed caller IDs over {route} on {day}; numbers presented: {numbers}",
        "ru": "звонков с подменных номеров: {calls} — маршрут {route}, {day}; разных номеров: {numbers}",
        "kk": "ауыстырылған нөмірлерден қоңыраулар: {calls} — {route} маршруты, {day}; әртүрлі нөмірлер: {numbers}",
    },
    "finding.wave.route.examples": {
        "en": "{calls} calls with spoofed caller IDs over {route} on {day}; "
        "numbers presented: {numbers} (most: {examples})",
        "ru": "звонков с подменных номеров: {calls} — маршрут {route}, {day}; разных номеров: {numbers} "
        "(чаще всего: {examples})",
        "kk": "ауыстырылған нөмірлерден қоңыраулар: {calls} — {route} маршруты, {day}; әртүрлі нөмірлер: {numbers} "
        "(ең жиі: {examples})",
    },
    # --- the number-scoring model (qalqan.analytics.number_scoring) ----------------------------
    "number_scoring.raises": {
        "en": "{feature} is {value}; this raises the fraud score",
        "ru": "признак {feature} = {value}: повышает оценку мошенничества",
        "kk": "{feature} белгісі = {value}: алаяқтық бағасын арттырады",
    },
    "number_scoring.lowers": {
        "en": "{feature} is {value}; this lowers the fraud score",
        "ru": "признак {feature} = {value}: понижает оценку мошенничества",
        "kk": "{feature} белгісі = {value}: алаяқтық бағасын төмендетеді",
    },
    "number_scoring.raises.no_value": {
        "en": "{feature}: no value (no records of this kind); this raises the fraud score",
        "ru": "признак {feature}: значения нет (таких записей нет); повышает оценку мошенничества",
        "kk": "{feature} белгісі: мәні жоқ (мұндай жазбалар жоқ); алаяқтық бағасын арттырады",
    },
    "number_scoring.lowers.no_value": {
        "en": "{feature}: no value (no records of this kind); this lowers the fraud score",
        "ru": "признак {feature}: значения нет (таких записей нет); понижает оценку мошенничества",
        "kk": "{feature} белгісі: мәні жоқ (мұндай жазбалар жоқ); алаяқтық бағасын төмендетеді",
    },
    # --- reasons of `qalqan analyze`: calls.csv, sims.csv, farms.csv (qalqan.analytics) ---------
    # Calls the analysis judged by the call model (its rules say screening's keys: one
    # definition, one reason), and calls placed by a SIM judged a SIM box.
    "analysis.call.wangiri_opening": {
        "en": "rang off unanswered from {range} in the {window} before the one-ring burst from "
        "there was found ({callees} people rung by then): its first calls",
        "ru": "сброшен без ответа с диапазона {range} за {window} до того, как там обнаружен "
        "Wangiri (к тому моменту обзвонено людей: {callees}): первые звонки атаки",
        "kk": "{range} ауқымынан жауапсыз үзілді, ол жерден Wangiri анықталғанға дейінгі {window} "
        "ішінде (сол кезде қоңырау шалынған адамдар саны: {callees}): шабуылдың алғашқы қоңыраулары",
    },
    "analysis.call.model": {
        "en": "first contact between caller and callee; {share}% of calls over {route} at this hour "
        "carried impossible caller IDs; callee got {flagged} flagged calls within 3 days",
        "ru": "звонящий и абонент ранее не связывались; {share}% звонков по маршруту {route} в этот "
        "час шли с невозможных номеров; подозрительных звонков абоненту за 3 дня: {flagged}",
        "kk": "қоңырау шалушы мен абонент бұрын байланыспаған; осы сағатта {route} маршрутымен "
        "келген қоңыраулардың {share}% мүмкін емес нөмірлерден болды; абонентке 3 күн ішінде "
        "келген күдікті қоңыраулар саны: {flagged}",
    },
    "analysis.call.model.known_pair": {
        "en": "{share}% of calls over {route} at this hour carried impossible caller IDs; "
        "callee got {flagged} flagged calls within 3 days",
        "ru": "{share}% звонков по маршруту {route} в этот час шли с невозможных номеров; "
        "подозрительных звонков абоненту за 3 дня: {flagged}",
        "kk": "осы сағатта {route} маршрутымен келген қоңыраулардың {share}% мүмкін емес "
        "нөмірлерден болды; абонентке 3 күн ішінде келген күдікті қоңыраулар саны: {flagged}",
    },
    "analysis.call.model.foreign_number": {
        "en": "{share}% of calls over {route} at this hour carried impossible caller IDs; "
        "this foreign number called {people} of our subscribers who got flagged calls within 3 days",
        "ru": "{share}% звонков по маршруту {route} в этот час шли с невозможных номеров; "
        "этот иностранный номер звонил нашим абонентам, которым за 3 дня поступали "
        "подозрительные звонки: {people}",
        "kk": "осы сағатта {route} маршрутымен келген қоңыраулардың {share}% мүмкін емес "
        "нөмірлерден болды; бұл шетелдік нөмір 3 күн ішінде күдікті қоңыраулар алған "
        "абоненттерімізге қоңырау шалды: {people}",
    },
    "analysis.call.simbox": {
        "en": "placed by SIM {imsi} of farm {farm}, judged a SIM box",
        "ru": "звонок с SIM-карты {imsi} из фермы {farm}; SIM-карта признана SIM-боксом",
        "kk": "қоңырау {farm} фермасының {imsi} SIM-картасынан шалынды; SIM-карта SIM-бокс деп танылды",
    },
    "analysis.call.simbox.no_farm": {
        "en": "placed by SIM {imsi}, judged a SIM box",
        "ru": "звонок с SIM-карты {imsi}; SIM-карта признана SIM-боксом",
        "kk": "қоңырау {imsi} SIM-картасынан шалынды; SIM-карта SIM-бокс деп танылды",
    },
    # Why a SIM looks like a SIM box (qalqan.analytics.sim_reasons), its farm, and the model.
    "analysis.sim.imei_many_sims_day": {
        "en": "IMEI {imei} carried {sims} different SIMs in one day",
        "ru": "аппарат IMEI {imei}: разных SIM-карт за один день — {sims}",
        "kk": "IMEI {imei} құрылғысы: бір күндегі әртүрлі SIM-карта саны — {sims}",
    },
    "analysis.sim.imei_many_sims": {
        "en": "IMEI {imei} carried {sims} different SIMs",
        "ru": "аппарат IMEI {imei}: разных SIM-карт — {sims}",
        "kk": "IMEI {imei} құрылғысы: әртүрлі SIM-карта саны — {sims}",
    },
    "analysis.sim.never_called": {
        "en": "never received a call or SMS in {days} days while making {calls} calls",
        "ru": "за {days} дн. ни одного входящего звонка или SMS; исходящих звонков: {calls}",
        "kk": "{days} күн ішінде бірде-бір кіріс қоңырау не SMS болмады; шығыс қоңыраулар саны: {calls}",
    },
    "analysis.sim.no_sms": {
        "en": "sent and received no SMS at all",
        "ru": "ни одного отправленного или полученного SMS",
        "kk": "бірде-бір SMS жіберілмеген және алынбаған",
    },
    "analysis.sim.strangers_only": {
        "en": "called {callees} different numbers; {share}% ever called back",
        "ru": "звонила на разные номера: {callees}; перезвонили хотя бы раз — {share}%",
        "kk": "қоңырау шалған әртүрлі нөмірлер саны: {callees}; кері қоңырау шалғандар — {share}%",
    },
    "analysis.sim.young_sim": {
        "en": "first call {days} days after activation",
        "ru": "первый звонок через {days} дн. после активации",
        "kk": "алғашқы қоңырау іске қосылғаннан кейін {days} күннен соң",
    },
    "analysis.sim.activation_batch": {
        "en": "one of {sims} SIMs activated the same day with neighbouring IMSIs",
        "ru": "из партии SIM-карт, активированных в один день, с соседними IMSI; SIM-карт в партии: {sims}",
        "kk": "бір күнде іске қосылған, көрші IMSI нөмірлері бар SIM-карталар топтамасынан; "
        "топтамадағы SIM-карта саны: {sims}",
    },
    "analysis.sim.straw_owner": {
        "en": "its registered owner holds {sims} SIMs",
        "ru": "SIM-карт, оформленных на её владельца: {sims}",
        "kk": "оның иесіне тіркелген SIM-карта саны: {sims}",
    },
    "analysis.sim.short_life": {
        "en": "made its calls within {hours} hours, then went silent",
        "ru": "сделала все звонки за {hours} ч и замолчала",
        "kk": "барлық қоңырауын {hours} сағ ішінде шалып, кейін үнсіз қалды",
    },
    "analysis.sim.static": {
        "en": "never moved: every call from site {site}",
        "ru": "не перемещалась: все звонки с площадки {site}",
        "kk": "орнын ауыстырмаған: барлық қоңырау {site} алаңынан",
    },
    "analysis.sim.crowded_site": {
        "en": "{sims} young SIMs called from site {site} on one day",
        "ru": "молодых SIM-карт, звонивших с площадки {site} за один день: {sims}",
        "kk": "{site} алаңынан бір күнде қоңырау шалған жас SIM-карта саны: {sims}",
    },
    "analysis.sim.sibling_contacts": {
        "en": "{share}% of its calls and SMS were with other young SIMs",
        "ru": "{share}% её звонков и SMS — с другими молодыми SIM-картами",
        "kk": "оның қоңыраулары мен SMS-терінің {share}% басқа жас SIM-карталармен болды",
    },
    "analysis.sim.unassigned_callees": {
        "en": "{share}% of its calls went to unassigned numbers",
        "ru": "{share}% её звонков — на невыделенные номера",
        "kk": "оның қоңырауларының {share}% бөлінбеген нөмірлерге шалынды",
    },
    "analysis.sim.elderly_targets": {
        "en": "{share}% of the people it called are over 65",
        "ru": "{share}% людей, которым она звонила, старше 65 лет",
        "kk": "ол қоңырау шалған адамдардың {share}% 65 жастан асқан",
    },
    "analysis.sim.farm_member": {
        "en": "one of {sims} SIMs of farm {farm}",
        "ru": "SIM-карта фермы {farm}; SIM-карт в ферме: {sims}",
        "kk": "{farm} фермасының SIM-картасы; фермадағы SIM-карта саны: {sims}",
    },
    "analysis.sim.model": {
        "en": "behaviour score {score}",
        "ru": "оценка поведения моделью: {score}",
        "kk": "модельдің мінез-құлық бағасы: {score}",
    },
    "analysis.sim.model.drivers": {
        "en": "behaviour score {score} ({drivers})",
        "ru": "оценка поведения моделью: {score} ({drivers})",
        "kk": "модельдің мінез-құлық бағасы: {score} ({drivers})",
    },
    # The evidence that ties a farm's SIMs together (qalqan.analytics.farms), pairs of SIMs each.
    "analysis.farm.evidence.shared_imei": {
        "en": "SIMs shared handsets ({pairs} pairs)",
        "ru": "SIM-карты стояли в одних и тех же аппаратах (пар: {pairs})",
        "kk": "SIM-карталар бір құрылғыларда тұрған (жұп саны: {pairs})",
    },
    "analysis.farm.evidence.activation_batch": {
        "en": "SIMs from the same activation batch ({pairs} pairs)",
        "ru": "SIM-карты из одной партии активации (пар: {pairs})",
        "kk": "SIM-карталар бір іске қосу топтамасынан (жұп саны: {pairs})",
    },
    "analysis.farm.evidence.same_owner": {
        "en": "SIMs registered to the same owner ({pairs} pairs)",
        "ru": "SIM-карты оформлены на одного владельца (пар: {pairs})",
        "kk": "SIM-карталар бір иеге тіркелген (жұп саны: {pairs})",
    },
    "analysis.farm.evidence.sim_to_sim": {
        "en": "SIMs called or texted each other ({pairs} pairs)",
        "ru": "SIM-карты звонили или писали SMS друг другу (пар: {pairs})",
        "kk": "SIM-карталар бір-біріне қоңырау шалған не SMS жіберген (жұп саны: {pairs})",
    },
    "analysis.farm.evidence.same_site_day": {
        "en": "SIMs worked from the same site on the same days ({pairs} pairs)",
        "ru": "SIM-карты работали с одной площадки в одни и те же дни (пар: {pairs})",
        "kk": "SIM-карталар бір күндері бір алаңнан жұмыс істеген (жұп саны: {pairs})",
    },
    "analysis.farm.evidence.shared_victims": {
        "en": "SIMs called the same people ({pairs} pairs)",
        "ru": "SIM-карты звонили одним и тем же людям (пар: {pairs})",
        "kk": "SIM-карталар бір адамдарға қоңырау шалған (жұп саны: {pairs})",
    },
    # --- analyze: why a campaign's calls are one campaign ------------------------------
    "analysis.campaign.range": {
        "en": "one-ring calls from {numbers} numbers of range {range} on {days} days",
        "ru": "звонки в один гудок с номеров диапазона {range} (номеров: {numbers}, дней: {days})",
        "kk": "{range} ауқымының нөмірлерінен бір шылдырлы қоңыраулар (нөмірлер: {numbers}, күндер: {days})",
    },
    "analysis.campaign.office_day": {
        "en": "{sources} sources keep one office day: {start}:00 to {end}:00 at UTC{offset}",
        "ru": "источники работают по одному графику ({sources}): с {start}:00 до {end}:00 по UTC{offset}",
        "kk": "көздер бір кесте бойынша жұмыс істейді ({sources}): UTC{offset} бойынша {start}:00 – {end}:00",
    },
    "analysis.campaign.week": {
        "en": "works {days} days a week",
        "ru": "работает дней в неделю: {days}",
        "kk": "аптасына жұмыс күндері: {days}",
    },
    "analysis.campaign.shared_victims": {
        "en": "its sources called the same victims far beyond chance ({pairs} pairs)",
        "ru": "его источники звонили одним и тем же жертвам намного чаще случайного (пар: {pairs})",
        "kk": "оның көздері бір құрбандарға кездейсоқтықтан әлдеқайда жиі қоңырау шалған (жұп саны: {pairs})",
    },
    "analysis.campaign.caller_ids": {
        "en": "its sources presented the same caller IDs ({pairs} pairs)",
        "ru": "его источники подставляли одни и те же номера (пар: {pairs})",
        "kk": "оның көздері бірдей нөмірлерді көрсеткен (жұп саны: {pairs})",
    },
    "analysis.campaign.script": {
        "en": "complaints tell one script: {category} ({reports} of {total})",
        "ru": "жалобы описывают один сценарий: {category} ({reports} из {total})",
        "kk": "шағымдар бір сценарийді сипаттайды: {category} ({reports} / {total})",
    },
    "analysis.campaign.script.text": {
        "en": "complaints tell one script: {category} ({reports} of {total}); {texts} retell one text of the {scheme} scheme: {phrases}",
        "ru": "жалобы описывают один сценарий: {category} ({reports} из {total}); {texts} пересказывают один текст схемы {scheme}: {phrases}",
        "kk": "шағымдар бір сценарийді сипаттайды: {category} ({reports} / {total}); {texts} шағым {scheme} схемасының бір мәтінін қайталайды: {phrases}",
    },
    "analysis.campaign.shared_route": {
        "en": "its calls over {routes}, carriers other centers rent too, told apart by office day and victims",
        "ru": "его звонки через {routes} (ими пользуются и другие колл-центры) отделены по графику и жертвам",
        "kk": "{routes} арқылы қоңыраулары (оларды басқа колл-орталықтар да пайдаланады) кесте мен құрбандар бойынша бөлінген",
    },
    "analysis.campaign.round_the_clock": {
        "en": "calls round the clock: equipment passing traffic on, not an office",
        "ru": "звонит круглосуточно: оборудование, пропускающее трафик, а не офис",
        "kk": "тәулік бойы қоңырау шалады: кеңсе емес, трафик өткізетін жабдық",
    },
    # Why an account is on a mule's trail (qalqan.analytics.money): accounts.csv.
    "analysis.money.collector": {
        "en": "received {payers} transfer(s) and within a day paid out by {channels} channels ({used})",
        "ru": "получено переводов: {payers}; в течение суток деньги выведены по разным каналам ({channels}): {used}",
        "kk": "түскен аударымдар саны: {payers}; бір тәулік ішінде ақша әртүрлі арналар арқылы шығарылды ({channels}): {used}",
    },
    "analysis.money.fed_by_collector": {
        "en": "fed by collecting mule {source}",
        "ru": "пополнялся со счёта дропа-сборщика {source}",
        "kk": "{source} жинаушы дроп шотынан толтырылды",
    },
    "analysis.money.fed_by_wallet": {
        "en": "fed by mule wallet {source}",
        "ru": "пополнялся с кошелька дропа {source}",
        "kk": "{source} дроп әмиянынан толтырылды",
    },
    "analysis.money.collector.victims": {
        "en": "received money from {payers} payer(s), {victims} of them after talking on a call of campaign {campaign} in the {hours} hours before; within a day paid out by {channels} channels ({used})",
        "ru": "деньги от плательщиков: {payers}, из них {victims} перевели после разговора со звонившими от кампании {campaign} за {hours} ч до перевода; в течение суток деньги выведены по разным каналам ({channels}): {used}",
        "kk": "ақша жіберушілер саны: {payers}, оның {victims} аударымға дейінгі {hours} сағатта {campaign} науқанының қоңырауында сөйлескен; бір тәулік ішінде ақша әртүрлі арналар арқылы шығарылды ({channels}): {used}",
    },
    "analysis.money.collector.farm": {
        "en": "received money from {payers} payer(s), {victims} of them just after talking on a scam call; paid for SIMs of farm {farm}, which calls for campaign {campaign}; within a day paid out by {channels} channels ({used})",
        "ru": "деньги от плательщиков: {payers}, из них {victims} перевели сразу после разговора с мошенниками; оплачивал SIM фермы {farm}, которая звонит для кампании {campaign}; в течение суток деньги выведены по разным каналам ({channels}): {used}",
        "kk": "ақша жіберушілер саны: {payers}, оның {victims} алаяқтармен сөйлескеннен кейін бірден аударған; {campaign} науқаны үшін қоңырау шалатын {farm} фермасының SIM-дерін төлеген; бір тәулік ішінде ақша әртүрлі арналар арқылы шығарылды ({channels}): {used}",
    },
    "analysis.money.farm_sim": {
        "en": "SIM balance topped up by collecting mule {source}; the SIM made calls of farm {farm}",
        "ru": "баланс SIM пополнен дропом-сборщиком {source}; с этой SIM звонила ферма {farm}",
        "kk": "SIM балансын {source} жинаушы дроп толтырды; бұл SIM-нен {farm} фермасы қоңырау шалған",
    },
    # Why a payment is a victim's (victim_payments.csv) and what a campaign took (campaign_money.csv).
    "analysis.money.victim_payment": {
        "en": "paid {amount} to collecting mule {mule} {minutes} minutes after talking on a call of campaign {campaign} (record {record})",
        "ru": "перевёл {amount} дропу-сборщику {mule} через {minutes} мин после разговора по звонку кампании {campaign} (запись {record})",
        "kk": "{campaign} науқанының қоңырауынан {minutes} минуттан кейін {mule} жинаушы дропқа {amount} аударды (жазба {record})",
    },
    "analysis.money.paid_mule": {
        "en": "paid {amount} to collecting mule {mule} of campaign {campaign}; the payer had not talked on a flagged call of a campaign shortly before",
        "ru": "перевёл {amount} дропу-сборщику {mule} кампании {campaign}; незадолго до перевода плательщик не разговаривал по помеченным звонкам кампаний",
        "kk": "{campaign} науқанының {mule} жинаушы дропына {amount} аударды; аударым алдында төлеушіге белгіленген науқан қоңыраулары болмаған",
    },
    "analysis.money.paid_collector": {
        "en": "paid {amount} to collecting mule {mule}",
        "ru": "перевёл {amount} дропу-сборщику {mule}",
        "kk": "{mule} жинаушы дропқа {amount} аударды",
    },
    "analysis.money.campaign.intercepted": {
        "en": "{intercepted} of its calls were intercepted before anyone paid, and no victim paid its mules",
        "ru": "перехвачено звонков до какого-либо перевода: {intercepted}; никто из жертв не заплатил её дропам",
        "kk": "кез келген аударымға дейін ұсталған қоңыраулар саны: {intercepted}; бірде-бір құрбан оның дроптарына төлемеген",
    },
    "analysis.money.campaign": {
        "en": "{victims} victim(s) paid {lost} {currency} to {collectors} collecting mule(s); {preventable} {currency} of it after the campaign's first flagged call to them",
        "ru": "жертв, заплативших дропам-сборщикам ({collectors}): {victims}, на сумму {lost} {currency}; из них {preventable} {currency} после первого помеченного звонка кампании",
        "kk": "{victims} құрбан {collectors} жинаушы дропқа {lost} {currency} төлеген; оның {preventable} {currency} науқанның алғашқы белгіленген қоңырауынан кейін",
    },
    # Impersonation of protected brands and persons in texts and addresses (qalqan.content).
    "content.brand.named": {
        "en": 'names {brand}: "{phrase}"',
        "ru": "упоминается {brand}: «{phrase}»",
        "kk": "{brand} аталады: «{phrase}»",
    },
    "content.brand.disguised": {
        "en": '{brand} is written with look-alike letters, digits or spacing to slip past filters: "{phrase}"',
        "ru": "название {brand} записано похожими буквами, цифрами или через пробелы, чтобы обойти фильтры: «{phrase}»",
        "kk": "{brand} атауы сүзгіден өту үшін ұқсас әріптермен, цифрлармен не бос орынмен жазылған: «{phrase}»",
    },
    "content.brand.lure_investment": {
        "en": 'promises investment returns: "{phrase}"',
        "ru": "обещает доход от вложений: «{phrase}»",
        "kk": "салымнан табыс уәде етеді: «{phrase}»",
    },
    "content.brand.lure_payment": {
        "en": 'lures with a payout or asks for a payment or card details: "{phrase}"',
        "ru": "заманивает выплатой или просит платёж либо данные карты: «{phrase}»",
        "kk": "төлеммен азғырады не төлем немесе карта деректерін сұрайды: «{phrase}»",
    },
    "content.domain.own": {
        "en": "{domain} is an address of {brand} itself ({real})",
        "ru": "{domain} — собственный адрес {brand} ({real})",
        "kk": "{domain} — {brand} өз мекенжайы ({real})",
    },
    "content.domain.homoglyph": {
        "en": "{domain} reads as {brand}'s {real} but is written with look-alike characters ({shown})",
        "ru": "{domain} читается как {real} ({brand}), но записан похожими символами ({shown})",
        "kk": "{domain} {real} ({brand}) сияқты оқылады, бірақ ұқсас таңбалармен жазылған ({shown})",
    },
    "content.domain.typo": {
        "en": "{domain} is {brand}'s {real} with {edits} character(s) slipped ({how})",
        "ru": "{domain} отличается от {real} ({brand}) опечаткой, символов: {edits} ({how})",
        "kk": "{domain} {real} ({brand}) мекенжайынан қатемен ерекшеленеді, таңба саны: {edits} ({how})",
    },
    "content.domain.added_words": {
        "en": "{domain} adds {words} to {brand}'s name {real}",
        "ru": "{domain} добавляет {words} к названию {real} ({brand})",
        "kk": "{domain} {real} ({brand}) атауына {words} қосады",
    },
    "content.domain.other_tld": {
        "en": "{domain} takes {brand}'s name {real} under another ending than its real addresses",
        "ru": "{domain} использует название {real} ({brand}) в другой доменной зоне, не в его настоящих адресах",
        "kk": "{domain} {real} ({brand}) атауын оның нақты мекенжайларынан басқа аймақта қолданады",
    },
    "content.domain.subdomain": {
        "en": "{domain} puts {brand}'s {real} in front of another site's address ({registered})",
        "ru": "{domain} ставит {real} ({brand}) перед адресом чужого сайта ({registered})",
        "kk": "{domain} {real} ({brand}) атауын бөгде сайт мекенжайының алдына қояды ({registered})",
    },
    "content.domain.split": {
        "en": "{domain} splits {brand}'s {real} with dots into another site's address ({registered})",
        "ru": "{domain} разбивает {real} ({brand}) точками, и адрес принадлежит чужому сайту ({registered})",
        "kk": "{domain} {real} ({brand}) атауын нүктелермен бөліп, бөгде сайт мекенжайына айналдырады ({registered})",
    },
    "content.domain.idn": {
        "en": "{domain} is an international (punycode) address that a browser shows as {shown}",
        "ru": "{domain} — международный (punycode) адрес, браузер покажет его как {shown}",
        "kk": "{domain} — халықаралық (punycode) мекенжай, браузер оны {shown} деп көрсетеді",
    },
    "content.media.score": {
        "en": "model {model} scored {file} {score} (what the score means is the model's to say: Qalqan ships no deepfake detector)",
        "ru": "модель {model} оценила {file}: {score} (что значит оценка, определяет сама модель: детектора дипфейков в Qalqan нет)",
        "kk": "{model} моделі {file} файлын бағалады: {score} (бағаның мәнін модельдің өзі анықтайды: Qalqan-да дипфейк детекторы жоқ)",
    },
    # The scam scheme a text tells and the phrases that decided it (qalqan.content.schemes).
    "content.scheme": {
        "en": "the text tells the {scheme} scheme ({probability})",
        "ru": "текст излагает схему {scheme} ({probability})",
        "kk": "мәтін {scheme} схемасын баяндайды ({probability})",
    },
    "content.scheme.phrase": {
        "en": 'the words "{phrase}" point to {scheme}',
        "ru": "слова «{phrase}» указывают на {scheme}",
        "kk": "«{phrase}» сөздері {scheme} схемасын көрсетеді",
    },
    "content.scheme.cut": {
        "en": "judged on the first {judged} of {length} characters",
        "ru": "оценены первые {judged} символов из {length}",
        "kk": "{length} таңбаның алғашқы {judged} таңбасы бағаланды",
    },
    "content.scheme.no_words": {
        "en": "no words to judge: the scheme is the model's prior",
        "ru": "в тексте нет слов: схема — исходное предположение модели",
        "kk": "мәтінде сөз жоқ: схема — модельдің бастапқы болжамы",
    },
    # What the public number check says of a number (qalqan.public.checks; docs/public.md).
    "public.registry.inbound_only": {
        "en": "{number} belongs to {owner}, which never calls from it",
        "ru": "номер {number} принадлежит организации «{owner}», и она никогда не звонит с него",
        "kk": "{number} нөмірі «{owner}» ұйымына тиесілі, ол бұл нөмірден ешқашан қоңырау шалмайды",
    },
    "public.registry.owner": {
        "en": "{number} belongs to {owner}",
        "ru": "номер {number} принадлежит организации «{owner}»",
        "kk": "{number} нөмірі «{owner}» ұйымына тиесілі",
    },
    "public.reported.bank_security": {
        "en": "reported {reports} time(s) in {days} days as a call from a bank's security service",
        "ru": "жалоб за {days} дн. о звонках от имени службы безопасности банка: {reports}",
        "kk": "{days} күнде банк қауіпсіздік қызметі атынан қоңырау туралы шағымдар: {reports}",
    },
    "public.reported.police": {
        "en": "reported {reports} time(s) in {days} days as a call from the police",
        "ru": "жалоб за {days} дн. о звонках от имени полиции: {reports}",
        "kk": "{days} күнде полиция атынан қоңырау туралы шағымдар: {reports}",
    },
    "public.reported.investment": {
        "en": "reported {reports} time(s) in {days} days as an investment offer",
        "ru": "жалоб за {days} дн. о предложениях инвестиций: {reports}",
        "kk": "{days} күнде инвестиция ұсынысы туралы шағымдар: {reports}",
    },
    "public.reported.egov": {
        "en": "reported {reports} time(s) in {days} days as a call from e-government",
        "ru": "жалоб за {days} дн. о звонках от имени электронного правительства: {reports}",
        "kk": "{days} күнде электрондық үкімет атынан қоңырау туралы шағымдар: {reports}",
    },
    "public.reported.operator": {
        "en": "reported {reports} time(s) in {days} days as a call from a mobile operator",
        "ru": "жалоб за {days} дн. о звонках от имени оператора связи: {reports}",
        "kk": "{days} күнде байланыс операторы атынан қоңырау туралы шағымдар: {reports}",
    },
    "public.reported.relative": {
        "en": "reported {reports} time(s) in {days} days as a relative in trouble",
        "ru": "жалоб за {days} дн. о звонках якобы от попавшего в беду родственника: {reports}",
        "kk": "{days} күнде қиындыққа тап болған туыс атынан қоңырау туралы шағымдар: {reports}",
    },
    "public.reported.other": {
        "en": "reported {reports} time(s) in {days} days as another scam",
        "ru": "жалоб за {days} дн. о другом мошенничестве: {reports}",
        "kk": "{days} күнде басқа алаяқтық туралы шағымдар: {reports}",
    },
    "public.campaign": {
        "en": "a scam call center found in the operator's calls used this number (last seen {last_seen})",
        "ru": "этим номером пользовался мошеннический колл-центр, найденный в звонках оператора (последний раз {last_seen})",
        "kk": "бұл нөмірді оператор қоңырауларынан табылған алаяқтық колл-орталығы пайдаланды (соңғы рет {last_seen})",
    },
    "public.farm_sim": {
        "en": "this number is on a SIM of a SIM farm, a rack of SIMs that scammers call from",
        "ru": "номер принадлежит SIM-карте из SIM-фермы — стойки SIM-карт, с которых звонят мошенники",
        "kk": "бұл нөмір SIM-фермадағы SIM-картаға тиесілі — алаяқтар қоңырау шалатын SIM-карталар жинағы",
    },
    "public.spoofed": {
        "en": "calls from abroad showed this number {waves} time(s): it was spoofed",
        "ru": "звонки из-за рубежа показывали этот номер (волн: {waves}) — он был подменён",
        "kk": "шетелден келген қоңыраулар бұл нөмірді көрсетті (толқындар: {waves}) — ол бұрмаланған",
    },
    "public.spoofed_calls": {
        "en": "{calls} call(s) showing this number came from abroad or by a way it never calls: it was spoofed",
        "ru": "звонков с этим номером, пришедших из-за рубежа или путём, которым он никогда не звонит: {calls} — номер был подменён",
        "kk": "шетелден немесе ол ешқашан қоңырау шалмайтын жолмен келген осы нөмірлі қоңыраулар: {calls} — нөмір бұрмаланған",
    },
    "public.intercepted": {
        "en": "{calls} call(s) from this number were stopped as fraud",
        "ru": "звонков с этого номера, остановленных как мошеннические: {calls}",
        "kk": "алаяқтық ретінде тоқтатылған бұл нөмірден қоңыраулар: {calls}",
    },
    "public.wangiri": {
        "en": "this number rang people once and hung up, hoping they call back at a premium rate",
        "ru": "с этого номера звонили на один гудок и сбрасывали, чтобы им перезвонили по платному тарифу",
        "kk": "бұл нөмірден бір гудокқа қоңырау шалып, ақылы тарифпен кері қоңырау шалуларын күтті",
    },
    "public.unallocated": {
        "en": "{number} is in no allocated range: no real phone has it, so a call showing it is spoofed",
        "ru": "номер {number} не входит ни в один выделенный диапазон: такого телефона нет, звонок с ним подменён",
        "kk": "{number} нөмірі бөлінген ауқымдардың ешқайсысына кірмейді: мұндай телефон жоқ, онымен келген қоңырау бұрмаланған",
    },
    "public.premium": {
        "en": "{number} is a premium-rate number: calling it back costs money",
        "ru": "{number} — платный номер: звонок на него стоит денег",
        "kk": "{number} — ақылы нөмір: оған қоңырау шалу ақылы",
    },
    "public.foreign": {
        "en": "{number} is a number of another country ({region})",
        "ru": "{number} — номер другой страны ({region})",
        "kk": "{number} — басқа елдің нөмірі ({region})",
    },
    "public.nothing": {
        "en": "nothing is known against {number}",
        "ru": "ничего плохого о номере {number} не известно",
        "kk": "{number} нөмірі туралы жаман ештеңе белгісіз",
    },
    "public.report.campaign": {
        "en": "a citizen reported a {channel} from {number}, a number of the live campaign {campaign}",
        "ru": "гражданин сообщил о контакте ({channel}) с номера {number}, номера действующей кампании {campaign}",
        "kk": "азамат {number} нөмірінен байланыс ({channel}) туралы хабарлады, бұл белсенді {campaign} науқанының нөмірі",
    },
}
"""Message key → language → template. English is the reference; a reason's ``detail`` is its English."""


def _compiled(template: str) -> Callable[[Mapping[str, object]], str]:
    """``template.format_map`` as a compiled f-string: four times faster.

    English is rendered on the engine's hot path, every time a rule fires, so
    each English template is compiled once, the way :mod:`dataclasses` writes
    its ``__init__``: the template's literal text is passed in as constants and
    its fields become lookups by name, so no template text is ever code. A
    field that is not a plain name keeps ``format_map``.
    """
    literals: list[str] = []
    pieces: list[str] = []
    for literal, name, spec, conversion in string.Formatter().parse(template):
        if literal:
            pieces.append(f"{{_literal[{len(literals)}]}}")
            literals.append(literal)
        if name is None:
            continue
        if not name.isidentifier() or spec or conversion:
            return template.format_map
        pieces.append(f"{{facts['{name}']}}")
    namespace: dict[str, object] = {"_literal": tuple(literals)}
    exec(f'def english(facts):\n    return f"{"".join(pieces)}"\n', namespace)
    compiled: Callable[[Mapping[str, object]], str] = namespace["english"]  # type: ignore[assignment]
    return compiled


_ENGLISH: Final = {key: _compiled(templates["en"]) for key, templates in MESSAGES.items()}

DURATION_FACTS: Final = frozenset({"window"})
"""Facts holding a duration as the rolling features name it (``24h``), spelled out per language."""

_UNITS: Final[Mapping[str, Mapping[str, str]]] = {
    "ru": {"s": "с", "m": "мин", "h": "ч", "d": "дн."},
    "kk": {"s": "сек", "m": "мин", "h": "сағ", "d": "күн"},
}
"""Abbreviated units: they read right after any number, so no plural form is needed."""
_DURATION: Final = re.compile(r"([0-9]+(?:\.[0-9]+)?)([smhd])")


def _duration(text: str, lang: str) -> str:
    """``24h`` → ``24 ч`` (ru), ``24 сағ`` (kk); anything else unchanged."""
    units = _UNITS.get(lang)
    found = _DURATION.fullmatch(text)
    if units is None or found is None:
        return text
    return f"{found[1]} {units[found[2]]}"


def render(key: str, facts: Mapping[str, object], lang: str = "en") -> str:
    """The message ``key`` filled with ``facts``, in ``lang``.

    Falls back to English when ``lang`` has no template for the key (or is
    not a language of the console). Raises ``KeyError`` when the key is not in
    the catalog or a fact the template needs is missing: a reason read from a
    newer file, say — the caller decides whether to show the English
    ``detail`` instead (:meth:`~qalqan.domain.model.Reason.detail_in` does).
    """
    if lang == "en":
        return _ENGLISH[key](facts)
    templates = MESSAGES[key]
    template = templates.get(lang)
    if template is None:
        return templates["en"].format_map(facts)
    if DURATION_FACTS.isdisjoint(facts):
        return template.format_map(facts)
    spelled = {
        name: _duration(str(value), lang) if name in DURATION_FACTS else value
        for name, value in facts.items()
    }
    return template.format_map(spelled)


@dataclass(frozen=True, slots=True, kw_only=True)
class Reason:
    """One contribution to a verdict, in the operator's words — in each of the console's languages.

    Operators read reasons in Russian, Kazakh or English, so a reason is kept
    as a message ``key`` of :data:`qalqan.domain.messages.MESSAGES` and the
    ``facts`` that fill it; ``detail`` is its English rendering, which log
    lines, SIP headers and CSV cells carry. Build one with :meth:`said`, which
    renders ``detail`` from the same catalog, so the English and the other
    languages cannot drift apart. A reason with free text only (``key`` "")
    still works: it just has no translation.
    """

    rule: str
    """Stable id of the rule or model, e.g. ``spoofed_cli.domestic_from_abroad``."""
    weight: float
    detail: str
    """What was seen, in English: ``IMEI 86… carried 41 different SIMs in 24h``."""
    key: str = ""
    """The message key (``sim_farm.handset_many_sims``); "" for free text with no translation."""
    facts: tuple[tuple[str, str], ...] = ()
    """The values that fill the message, as ``(name, text)`` pairs: immutable, so reasons stay hashable."""

    @classmethod
    def said(cls, rule: str, weight: float, key: str, /, **facts: object) -> Reason:
        """The reason ``rule`` gives with message ``key``: ``detail`` is the English rendering.

        Facts are kept as strings — numbers formatted by the caller (``f"{share:.0%}"``) —
        so that every language shows the same value the English does.
        """
        return cls.from_facts(rule, weight, key, facts)

    @classmethod
    def from_facts(cls, rule: str, weight: float, key: str, facts: dict[str, object]) -> Reason:
        """:meth:`said`, for a caller holding the facts in a dict of its own, which this takes over.

        The dict's values become strings in place: rules call this with their
        own keyword arguments (:meth:`qalqan.screening.signals.Rule.say`), and
        one copy fewer matters when it runs every time a rule fires.
        """
        for name, value in facts.items():
            if value.__class__ is not str:
                facts[name] = str(value)
        return cls(
            rule=rule,
            weight=weight,
            detail=render(key, facts),
            key=key,
            facts=tuple(facts.items()),  # type: ignore[arg-type]
        )

    def facts_dict(self) -> dict[str, str]:
        """The facts by name, as :func:`~qalqan.domain.messages.render` takes them."""
        return dict(self.facts)

    def detail_in(self, lang: str) -> str:
        """What the operator reads in ``lang`` (``ru``, ``kk``, ``en``).

        The English ``detail`` when the reason has no key, or a key this
        version's catalog does not know (a file written by a newer Qalqan).
        """
        if not self.key:
            return self.detail
        try:
            return render(self.key, dict(self.facts), lang)
        except (KeyError, IndexError, ValueError):
            return self.detail

    def as_data(self) -> dict[str, object]:
        """This reason as JSON-ready data: what every output file and the case store keep.

        ``{"rule", "key", "facts", "weight"}``, and ``"text"`` (the English
        ``detail``) only for a reason without a message key, whose words have no
        template to be rendered from. :meth:`from_data` reads it back.

        >>> Reason.said("spoofed_cli.unallocated", 0.9, "spoofed_cli.unallocated", caller="+7999").as_data()
        {'rule': 'spoofed_cli.unallocated', 'key': 'spoofed_cli.unallocated', 'facts': {'caller': '+7999'}, 'weight': 0.9}
        """
        data: dict[str, object] = {
            "rule": self.rule,
            "key": self.key,
            "facts": dict(self.facts),
            "weight": self.weight,
        }
        if not self.key:
            data["text"] = self.detail
        return data

    @classmethod
    def from_data(cls, obj: object) -> Reason:
        """The reason :meth:`as_data` wrote; ``ValueError`` saying what is wrong for anything else.

        ``detail`` is rendered in English from ``key`` and ``facts`` (the
        ``text`` of a reason without a key). Data written before weights were
        kept has no ``weight``, and reads as weight 0.0; such data may also have
        an empty ``rule`` and, for a reason without a key, no ``text``. Data
        with a ``weight`` has both. Fields this version does not know are
        ignored, so that a newer writer can add some.
        """
        if not isinstance(obj, dict):
            raise ValueError(
                f"a reason is an object with rule, key and facts, not {_json_kind(obj)}"
            )
        rule, key, facts = obj.get("rule"), obj.get("key"), obj.get("facts")
        if not isinstance(rule, str) or not isinstance(key, str):
            raise ValueError("a reason's rule and key must be strings")
        if not isinstance(facts, dict) or not all(isinstance(v, str) for v in facts.values()):
            raise ValueError(f"reason {rule or key!r}: facts must be an object of strings")
        weighed = "weight" in obj
        weight = _weight(obj["weight"], rule) if weighed else 0.0
        if weighed and not rule:
            raise ValueError("a reason with a weight must name its rule")
        detail = _english(rule, key, facts) if key else _text(obj.get("text"), rule, weighed)
        return cls(rule=rule, weight=weight, detail=detail, key=key, facts=tuple(facts.items()))

    def __str__(self) -> str:
        return f"{self.rule} ({self.weight:+.2f}): {self.detail}"


def _json_kind(value: object) -> str:
    """What a JSON value is, in a sentence: ``a number``, ``an array``."""
    kinds = {list: "an array", str: "a string", bool: "true/false", type(None): "null"}
    kinds |= {int: "a number", float: "a number"}
    return kinds.get(type(value), type(value).__name__)


def _weight(value: object, rule: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"reason {rule!r}: weight must be a finite number, not {value!r}")
    return float(value)


def _english(rule: str, key: str, facts: dict[str, str]) -> str:
    if key not in MESSAGES:
        raise ValueError(f"reason {rule!r}: key {key!r} is not in the message catalog")
    try:
        return render(key, facts)
    except KeyError as missing:
        raise ValueError(
            f"reason {rule!r}: facts lack {missing}, which the message {key!r} needs"
        ) from None


def _text(value: object, rule: str, weighed: bool) -> str:
    """The words of a reason without a key; data without weights never kept them."""
    if value is None and not weighed:
        return ""
    if not isinstance(value, str):
        raise ValueError(f"reason {rule!r} has no key, so it needs its words as a string 'text'")
    return value


def reasons_cell(reasons: Iterable[Reason]) -> str | None:
    """The ``reason_facts`` cell of every output file: a JSON array of the reasons' data.

    One :meth:`~qalqan.domain.model.Reason.as_data` object per reason, in the
    reasons' order (version 2 of the column, with ``weight``; see
    ``docs/exchange-format.md``). None (an empty cell) when there are no
    reasons, as in the ``reasons`` column. :func:`parse_reasons` reads it back.
    """
    said = [reason.as_data() for reason in reasons]
    if not said:
        return None
    return json.dumps(said, ensure_ascii=False, separators=(",", ":"))


def parse_reasons(cell: str | None) -> list[Reason]:
    """The reasons of a ``reason_facts`` cell of either version, in their order.

    None or an empty cell (no reasons, or a file written before the column
    existed) gives ``[]``. An item without ``weight`` was written by version 1
    and reads with weight 0.0 (:meth:`~qalqan.domain.model.Reason.from_data`).
    Raises ``ValueError`` saying which item is wrong and how.

    >>> [r] = parse_reasons('[{"rule":"spoofed_cli.unallocated","key":"spoofed_cli.unallocated",'
    ...                     '"facts":{"caller":"+7999"},"weight":0.9}]')
    >>> r.detail, r.weight
    ('presents +7999, which lies in no allocated number range', 0.9)
    """
    items = _json_array(cell)
    reasons: list[Reason] = []
    for i, item in enumerate(items):
        try:
            reasons.append(Reason.from_data(item))
        except ValueError as error:
            raise ValueError(f"reason_facts item {i}: {error}") from None
    return reasons


def _json_array(cell: str | None) -> list[object]:
    if cell is None or not cell.strip():
        return []
    try:
        items = json.loads(cell)
    except json.JSONDecodeError as error:
        raise ValueError(
            f"reason_facts is not JSON ({error.msg} at character {error.pos}): {cell[:80]!r}"
        ) from None
    if not isinstance(items, list):
        raise ValueError(f"reason_facts is a JSON {type(items).__name__}, not an array of reasons")
    return items
