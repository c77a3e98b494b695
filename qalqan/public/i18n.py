"""The public pages' words in Russian, Kazakh and English, and the reader's language.

The language comes from the switch (``?lang=`` remembered in a cookie), else
from the browser's ``Accept-Language``, else Russian. What a verdict's reasons
say is the message catalog's (:mod:`qalqan.domain.messages`); this holds the
pages' own words and the advice.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from qalqan.domain.messages import LANGUAGES

__all__ = ["LANGUAGES", "WORDS", "language_of", "words"]

#: The pages speak the message catalog's languages (``LANGUAGES``), which say the reasons.

WORDS: Final[Mapping[str, Mapping[str, str]]] = {
    "title": {
        "ru": "Это правда мой банк? Проверка номера",
        "kk": "Бұл шынымен менің банкім бе? Нөмірді тексеру",
        "en": "Is this really my bank? Number check",
    },
    "lead": {
        "ru": "Введите номер, который вам звонил или писал.",
        "kk": "Сізге қоңырау шалған немесе жазған нөмірді енгізіңіз.",
        "en": "Type the number that called or wrote to you.",
    },
    "number": {"ru": "Номер", "kk": "Нөмір", "en": "Number"},
    "check": {"ru": "Проверить", "kk": "Тексеру", "en": "Check"},
    "why": {"ru": "Почему", "kk": "Неліктен", "en": "Why"},
    "what_to_do": {"ru": "Что делать", "kk": "Не істеу керек", "en": "What to do"},
    "level.danger": {
        "ru": "Опасно: это мошенники или подмена номера",
        "kk": "Қауіпті: бұл алаяқтар немесе нөмір бұрмалануы",
        "en": "Danger: scammers or a spoofed number",
    },
    "level.caution": {"ru": "Осторожно", "kk": "Абай болыңыз", "en": "Be careful"},
    "level.official": {
        "ru": "Официальный номер организации",
        "kk": "Ұйымның ресми нөмірі",
        "en": "An organisation's official number",
    },
    "level.unknown": {
        "ru": "О номере ничего плохого не известно",
        "kk": "Нөмір туралы жаман ештеңе белгісіз",
        "en": "Nothing is known against this number",
    },
    "advice.inbound_only": {
        "ru": "Эта организация никогда не звонит с этого номера. Положите трубку и сами позвоните по номеру с вашей карты или с официального сайта.",
        "kk": "Бұл ұйым осы нөмірден ешқашан қоңырау шалмайды. Тұтқаны қойып, картаңыздағы немесе ресми сайттағы нөмірге өзіңіз қоңырау шалыңыз.",
        "en": "This organisation never calls from this number. Hang up and call the number on your card or its official website yourself.",
    },
    "advice.spoofed": {
        "ru": "Номер подменён: звонящий не тот, за кого себя выдаёт. Положите трубку.",
        "kk": "Нөмір бұрмаланған: қоңырау шалушы өзін кім деп таныстырса, ол емес. Тұтқаны қойыңыз.",
        "en": "The number is spoofed: the caller is not who they say. Hang up.",
    },
    "advice.scam": {
        "ru": "Не называйте коды из SMS, не переводите деньги и не ставьте приложения по их просьбе. Положите трубку и сообщите о звонке ниже.",
        "kk": "SMS кодтарын айтпаңыз, ақша аудармаңыз және олардың өтініші бойынша қосымша орнатпаңыз. Тұтқаны қойып, төменде хабарлаңыз.",
        "en": "Do not tell codes from SMS, do not transfer money, do not install apps they ask for. Hang up and report the call below.",
    },
    "advice.no_call_back": {
        "ru": "Не перезванивайте: звонок на этот номер платный.",
        "kk": "Кері қоңырау шалмаңыз: бұл нөмірге қоңырау ақылы.",
        "en": "Do not call back: calling this number costs money.",
    },
    "advice.official": {
        "ru": "Номер настоящий, но мошенники умеют его подделывать. Если сомневаетесь, положите трубку и перезвоните сами.",
        "kk": "Нөмір шынайы, бірақ алаяқтар оны жасай алады. Күмәндансаңыз, тұтқаны қойып, өзіңіз қайта қоңырау шалыңыз.",
        "en": "The number is real, but scammers can fake it. If in doubt, hang up and call back yourself.",
    },
    "advice.foreign": {
        "ru": "Звонок из другой страны. Банки и полиция Казахстана не звонят с иностранных номеров.",
        "kk": "Басқа елден қоңырау. Қазақстанның банктері мен полициясы шетелдік нөмірлерден қоңырау шалмайды.",
        "en": "A call from another country. Banks and the police do not call from foreign numbers.",
    },
    "advice.always": {
        "ru": "Банк и полиция никогда не просят перевести деньги на «безопасный счёт» и не спрашивают коды.",
        "kk": "Банк пен полиция ешқашан ақшаны «қауіпсіз шотқа» аударуды сұрамайды және кодтарды сұрамайды.",
        "en": "A bank or the police never ask you to move money to a 'safe account' or to tell them codes.",
    },
    "reports_recent": {
        "ru": "Жалоб за 30 дней",
        "kk": "30 күндегі шағымдар",
        "en": "Reports in 30 days",
    },
    "schemes": {
        "ru": "Схема обмана",
        "kk": "Алаяқтық схемасы",
        "en": "The scam",
    },
    "report_title": {
        "ru": "Сообщить о мошенниках",
        "kk": "Алаяқтар туралы хабарлау",
        "en": "Report scammers",
    },
    "when": {"ru": "Когда", "kk": "Қашан", "en": "When"},
    "channel": {"ru": "Как связались", "kk": "Қалай хабарласты", "en": "How they reached you"},
    "channel.call": {"ru": "Звонок", "kk": "Қоңырау", "en": "Call"},
    "channel.sms": {"ru": "SMS", "kk": "SMS", "en": "SMS"},
    "channel.messenger": {"ru": "Мессенджер", "kk": "Мессенджер", "en": "Messenger"},
    "channel.video_call": {"ru": "Видеозвонок", "kk": "Бейнеқоңырау", "en": "Video call"},
    "channel.ad": {"ru": "Объявление", "kk": "Хабарландыру", "en": "Advert"},
    "channel.web": {"ru": "Сайт", "kk": "Сайт", "en": "Website"},
    "category": {
        "ru": "Кем представились",
        "kk": "Кім болып таныстырды",
        "en": "Who they said they were",
    },
    "category.bank_security": {
        "ru": "Служба безопасности банка",
        "kk": "Банк қауіпсіздік қызметі",
        "en": "A bank's security service",
    },
    "category.police": {"ru": "Полиция", "kk": "Полиция", "en": "The police"},
    "category.investment": {"ru": "Инвестиции", "kk": "Инвестиция", "en": "Investment"},
    "category.egov": {
        "ru": "Электронное правительство",
        "kk": "Электрондық үкімет",
        "en": "E-government",
    },
    "category.operator": {
        "ru": "Оператор связи",
        "kk": "Байланыс операторы",
        "en": "A mobile operator",
    },
    "category.relative": {"ru": "Родственник", "kk": "Туыс", "en": "A relative"},
    "category.other": {"ru": "Другое", "kk": "Басқа", "en": "Other"},
    "text": {
        "ru": "Что говорили или писали",
        "kk": "Не айтты немесе жазды",
        "en": "What they said or wrote",
    },
    "screenshot": {
        "ru": "Снимок экрана (PNG, JPEG или WebP, до 2 МБ)",
        "kk": "Скриншот (PNG, JPEG немесе WebP, 2 МБ дейін)",
        "en": "Screenshot (PNG, JPEG or WebP, up to 2 MB)",
    },
    "callback": {
        "ru": "Ваш номер, если хотите, чтобы вам перезвонили (необязательно)",
        "kk": "Кері қоңырау қажет болса, нөміріңіз (міндетті емес)",
        "en": "Your number, if you want to be called back (optional)",
    },
    "send": {"ru": "Отправить", "kk": "Жіберу", "en": "Send"},
    "working": {
        "ru": "Проверяем, что вы не робот…",
        "kk": "Робот емес екеніңізді тексеріп жатырмыз…",
        "en": "Checking you are not a robot…",
    },
    "filed": {
        "ru": "Спасибо! Сообщение принято.",
        "kk": "Рахмет! Хабарлама қабылданды.",
        "en": "Thank you! Your report is received.",
    },
    "duplicate": {
        "ru": "Это сообщение уже принято раньше.",
        "kk": "Бұл хабарлама бұрын қабылданған.",
        "en": "This report was already received.",
    },
    "queued": {
        "ru": "Номер связан с известной мошеннической группой: сообщение передано операторам.",
        "kk": "Нөмір белгілі алаяқтық тобымен байланысты: хабарлама операторларға жіберілді.",
        "en": "The number belongs to a known scam group: your report went to the operators.",
    },
    "error.number": {
        "ru": "Номер не распознан",
        "kk": "Нөмір танылмады",
        "en": "The number is not recognised",
    },
    "error.limited": {
        "ru": "Слишком много запросов, попробуйте позже",
        "kk": "Сұраулар тым көп, кейінірек көріңіз",
        "en": "Too many requests, try again later",
    },
    "error.pow": {
        "ru": "Проверка не пройдена, отправьте ещё раз",
        "kk": "Тексеру өтпеді, қайта жіберіңіз",
        "en": "The check failed, send again",
    },
    "error.unavailable": {
        "ru": "Сервис сейчас перегружен, отправьте сообщение через несколько секунд",
        "kk": "Қызмет қазір бос емес, хабарламаны бірнеше секундтан кейін жіберіңіз",
        "en": "The service is busy, send your report again in a few seconds",
    },
    "error.form": {
        "ru": "Форма устарела, откройте её заново",
        "kk": "Пішін ескірді, оны қайта ашыңыз",
        "en": "The form is out of date, open it again",
    },
    "error.field": {"ru": "Проверьте поле", "kk": "Өрісті тексеріңіз", "en": "Check the field"},
    "privacy": {
        "ru": "Мы говорим только о самом номере: никаких имён, SIM-карт и того, кому он звонил. Ваш адрес не записывается.",
        "kk": "Біз тек нөмірдің өзі туралы айтамыз: есімдер, SIM-карталар және оның кімге қоңырау шалғаны жоқ. Мекенжайыңыз жазылмайды.",
        "en": "We speak only of the number itself: no names, SIMs, or whom it called. Your address is not recorded.",
    },
}


def words(lang: str) -> dict[str, str]:
    """Every word of the pages in ``lang`` (English where one is missing)."""
    return {key: by_lang.get(lang) or by_lang["en"] for key, by_lang in WORDS.items()}


def language_of(chosen: str | None, accept_language: str | None) -> str:
    """The switch's choice if it is one of ours, else the first of ours the browser accepts, else ru."""
    if chosen in LANGUAGES:
        return chosen
    for part in (accept_language or "")[:200].split(","):
        tag = part.split(";")[0].strip().lower()[:2]
        if tag in LANGUAGES:
            return tag
    return "ru"
