"""What an operator says when calling a potential victim back, per fraud scheme and language.

A call back happens minutes after a scam call, to someone who may be
frightened, in a hurry, or still on the line with the fraudster. The scripts
are short on purpose, polite, and say three things in this order:

1. **who we are** — the anti-call-center, working with the prosecutor's
   office — and that *we* will not ask for codes, card details or money
   (the person has just been lied to by someone claiming to be the bank);
2. **what no real bank, police officer or official ever does**: ask to move
   money to a "safe account", read out an SMS code, install an app, or keep
   the call secret;
3. **what to do now**: hang up on such calls, call the bank or the
   relative back on a number they know, block the card if a code or money
   has gone.

Every scheme of the exchange format's ``reports.category`` (``bank_security``,
``police``, ``investment``, ``egov``, ``operator``, ``relative``, ``other``)
has a script in Russian, Kazakh and English; a test keeps it that way.
``{operator}`` and ``{center}`` are filled in when a script is rendered.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from qalqan.domain.model import ReportCategory

__all__ = [
    "CENTER_NAMES",
    "SCRIPTS",
    "CallbackScript",
    "Language",
    "render_script",
]


class Language(StrEnum):
    RU = "ru"
    KK = "kk"
    EN = "en"


CENTER_NAMES: Final[dict[Language, str]] = {
    Language.RU: "Антимошеннический центр",
    Language.KK: "Алаяқтыққа қарсы орталық",
    Language.EN: "Anti-Fraud Center",
}
"""Used for ``{center}`` unless the store's settings name the center."""


@dataclass(frozen=True, slots=True, kw_only=True)
class CallbackScript:
    category: ReportCategory
    language: Language
    title: str
    lines: tuple[str, ...]
    """Read one after another; each is a sentence or two."""

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


_INTRO: Final = {
    Language.RU: (
        "Здравствуйте! Меня зовут {operator}, я сотрудник службы «{center}», "
        "мы работаем вместе с прокуратурой.",
        "Мы не будем спрашивать у вас коды, данные карты или деньги.",
    ),
    Language.KK: (
        "Сәлеметсіз бе! Менің атым {operator}, мен «{center}» қызметінің қызметкерімін, "
        "біз прокуратурамен бірге жұмыс істейміз.",
        "Біз сізден ешқандай код, карта деректерін немесе ақша сұрамаймыз.",
    ),
    Language.EN: (
        "Hello, my name is {operator}. I am calling from the {center}; "
        "we work together with the prosecutor's office.",
        "We will not ask you for any codes, card details or money.",
    ),
}

_CLOSING: Final = {
    Language.RU: "Спасибо, что выслушали. Берегите себя и своих близких.",
    Language.KK: "Тыңдағаныңызға рахмет. Өзіңізді және жақындарыңызды сақтаңыз.",
    Language.EN: "Thank you for listening. Please take care of yourself and your family.",
}

_TITLES: Final[dict[ReportCategory, dict[Language, str]]] = {
    ReportCategory.BANK_SECURITY: {
        Language.RU: "Звонок от «службы безопасности банка»",
        Language.KK: "«Банктің қауіпсіздік қызметінен» қоңырау",
        Language.EN: "Call from 'bank security'",
    },
    ReportCategory.POLICE: {
        Language.RU: "Звонок от «полиции» или «следователя»",
        Language.KK: "«Полициядан» немесе «тергеушіден» қоңырау",
        Language.EN: "Call from 'the police' or 'an investigator'",
    },
    ReportCategory.INVESTMENT: {
        Language.RU: "Предложение «инвестиций» или «заработка на бирже»",
        Language.KK: "«Инвестиция» немесе «биржада табыс» ұсынысы",
        Language.EN: "An 'investment' or 'trading' offer",
    },
    ReportCategory.EGOV: {
        Language.RU: "Звонок от «ЦОНа», «eGov» или «налоговой»",
        Language.KK: "«ХҚКО», «eGov» немесе «салық қызметінен» қоңырау",
        Language.EN: "Call from 'eGov', a public service center or 'the tax office'",
    },
    ReportCategory.OPERATOR: {
        Language.RU: "Звонок от «мобильного оператора»",
        Language.KK: "«Ұялы байланыс операторынан» қоңырау",
        Language.EN: "Call from 'your mobile operator'",
    },
    ReportCategory.RELATIVE: {
        Language.RU: "«Родственник в беде»",
        Language.KK: "«Туысыңыз қиын жағдайда»",
        Language.EN: "'A relative in trouble'",
    },
    ReportCategory.OTHER: {
        Language.RU: "Подозрительный звонок",
        Language.KK: "Күдікті қоңырау",
        Language.EN: "Suspicious call",
    },
}

_BODIES: Final[dict[ReportCategory, dict[Language, tuple[str, ...]]]] = {
    ReportCategory.BANK_SECURITY: {
        Language.RU: (
            "Несколько минут назад вам звонили мошенники — возможно, представились "
            "службой безопасности банка.",
            "Настоящий банк никогда не просит перевести деньги на «безопасный счёт», "
            "назвать код из SMS или установить приложение.",
            "Если вы уже назвали код или перевели деньги, сразу позвоните в банк по номеру "
            "на обратной стороне карты и заблокируйте карту.",
            "Не перезванивайте на номер, с которого вам звонили.",
        ),
        Language.KK: (
            "Бірнеше минут бұрын сізге алаяқтар қоңырау шалды — олар өздерін банктің "
            "қауіпсіздік қызметі ретінде таныстыруы мүмкін.",
            "Нағыз банк ешқашан ақшаны «қауіпсіз шотқа» аударуды, SMS-кодты айтуды "
            "немесе қосымша орнатуды сұрамайды.",
            "Егер кодты айтып қойсаңыз немесе ақша аударсаңыз, дереу картаның артындағы "
            "нөмір бойынша банкке хабарласып, картаны бұғаттаңыз.",
            "Сізге қоңырау шалған нөмірге қайта қоңырау шалмаңыз.",
        ),
        Language.EN: (
            "A few minutes ago you were called by fraudsters, who may have said they were "
            "your bank's security department.",
            "A real bank never asks you to move money to a 'safe account', to read out a "
            "code from an SMS, or to install an app.",
            "If you have already given a code or sent money, call your bank now on the "
            "number on the back of your card and block the card.",
            "Do not call back the number that called you.",
        ),
    },
    ReportCategory.POLICE: {
        Language.RU: (
            "Вам звонили мошенники — возможно, представились полицией, КНБ, прокуратурой "
            "или следователем.",
            "Настоящие сотрудники никогда не просят по телефону перевести деньги, взять "
            "кредит или держать разговор в тайне.",
            "Положите трубку и сами позвоните по номеру 102.",
            "Никому не передавайте деньги и не сообщайте коды.",
        ),
        Language.KK: (
            "Сізге алаяқтар қоңырау шалды — олар өздерін полиция, ҰҚК, прокуратура "
            "немесе тергеуші ретінде таныстыруы мүмкін.",
            "Нағыз қызметкерлер ешқашан телефон арқылы ақша аударуды, несие алуды немесе "
            "әңгімені құпия сақтауды сұрамайды.",
            "Телефонды қойып, 102 нөміріне өзіңіз хабарласыңыз.",
            "Ешкімге ақша бермеңіз және код айтпаңыз.",
        ),
        Language.EN: (
            "You were called by fraudsters, who may have said they were the police, the "
            "national security service, a prosecutor or an investigator.",
            "Real officers never ask you by phone to send money, take out a loan, or keep "
            "the conversation secret.",
            "Hang up and call 102 yourself.",
            "Do not hand over money or tell anyone your codes.",
        ),
    },
    ReportCategory.INVESTMENT: {
        Language.RU: (
            "Вам звонили мошенники — возможно, предлагали инвестиции, криптовалюту или "
            "заработок на бирже с гарантированным доходом.",
            "Настоящие брокеры не звонят сами с обещаниями гарантированной прибыли и не "
            "берут «комиссию» за вывод денег.",
            "Не устанавливайте программы по их просьбе (например, AnyDesk) и не переводите деньги.",
            "Проверьте компанию на официальном сайте финансового регулятора.",
        ),
        Language.KK: (
            "Сізге алаяқтар қоңырау шалды — олар инвестиция, криптовалюта немесе биржада "
            "кепілді табыс ұсынуы мүмкін.",
            "Нағыз брокерлер кепілді пайда уәде етіп өздері қоңырау шалмайды және ақшаны "
            "шығару үшін «комиссия» алмайды.",
            "Олардың өтініші бойынша ешқандай бағдарлама орнатпаңыз (мысалы, AnyDesk) және "
            "ақша аудармаңыз.",
            "Компанияны қаржы реттеушісінің ресми сайтынан тексеріңіз.",
        ),
        Language.EN: (
            "You were called by fraudsters, who may have offered investments, crypto or "
            "trading with guaranteed returns.",
            "Real brokers do not cold-call promising guaranteed profit, and never charge a "
            "'fee' to let you withdraw your money.",
            "Do not install any program they ask for (such as AnyDesk) and do not send money.",
            "Check the company on the financial regulator's official website.",
        ),
    },
    ReportCategory.EGOV: {
        Language.RU: (
            "Вам звонили мошенники — возможно, представились сотрудниками ЦОНа, eGov или "
            "налоговой службы.",
            "Государственные органы никогда не спрашивают по телефону код из SMS, пароль "
            "от eGov или ЭЦП.",
            "Код из SMS — это ваша подпись: никому его не называйте.",
            "Если вы уже назвали код, смените пароль eGov и позвоните в свой банк.",
        ),
        Language.KK: (
            "Сізге алаяқтар қоңырау шалды — олар өздерін ХҚКО, eGov немесе салық қызметінің "
            "қызметкерлері ретінде таныстыруы мүмкін.",
            "Мемлекеттік органдар телефон арқылы ешқашан SMS-кодты, eGov құпиясөзін немесе "
            "ЭЦҚ-ны сұрамайды.",
            "SMS-код — сіздің қолтаңбаңыз: оны ешкімге айтпаңыз.",
            "Егер кодты айтып қойсаңыз, eGov құпиясөзін ауыстырып, банкке хабарласыңыз.",
        ),
        Language.EN: (
            "You were called by fraudsters, who may have said they were from a public "
            "service center, eGov or the tax office.",
            "Government offices never ask by phone for an SMS code, your eGov password or "
            "your digital signature.",
            "An SMS code is your signature: never tell it to anyone.",
            "If you have already given a code, change your eGov password and call your bank.",
        ),
    },
    ReportCategory.OPERATOR: {
        Language.RU: (
            "Вам звонили мошенники — возможно, представились вашим мобильным оператором и "
            "говорили, что заканчивается срок SIM-карты или договора.",
            "Оператор никогда не просит назвать код из SMS, чтобы «продлить номер».",
            "Если вы уже назвали код, позвоните оператору по официальному номеру и "
            "проверьте вход в приложение банка.",
        ),
        Language.KK: (
            "Сізге алаяқтар қоңырау шалды — олар өздерін ұялы байланыс операторы ретінде "
            "таныстырып, SIM-картаның немесе шарттың мерзімі бітті деуі мүмкін.",
            "Оператор «нөмірді ұзарту» үшін ешқашан SMS-кодты сұрамайды.",
            "Егер кодты айтып қойсаңыз, операторға ресми нөмір бойынша хабарласып, банк "
            "қосымшасына кіруді тексеріңіз.",
        ),
        Language.EN: (
            "You were called by fraudsters, who may have said they were your mobile "
            "operator and that your SIM card or contract was about to expire.",
            "Your operator never asks for an SMS code to 'extend your number'.",
            "If you have already given a code, call your operator on its official number "
            "and check your banking app for unknown logins.",
        ),
    },
    ReportCategory.RELATIVE: {
        Language.RU: (
            "Вам звонили мошенники — возможно, говорили, что ваш родственник попал в аварию "
            "или в полицию и срочно нужны деньги.",
            "Положите трубку и сами позвоните родственнику по его обычному номеру.",
            "Не передавайте деньги незнакомым людям и курьерам и ничего не переводите.",
        ),
        Language.KK: (
            "Сізге алаяқтар қоңырау шалды — олар туысыңыз апатқа түсті немесе полицияға "
            "ұсталды, шұғыл ақша керек деуі мүмкін.",
            "Телефонды қойып, туысыңызға оның әдеттегі нөміріне өзіңіз қоңырау шалыңыз.",
            "Бейтаныс адамдарға және курьерлерге ақша бермеңіз, ештеңе аудармаңыз.",
        ),
        Language.EN: (
            "You were called by fraudsters, who may have said a relative of yours had an "
            "accident or was detained and urgently needs money.",
            "Hang up and call your relative yourself on the number you always use.",
            "Do not give money to strangers or couriers, and do not transfer anything.",
        ),
    },
    ReportCategory.OTHER: {
        Language.RU: (
            "Несколько минут назад вам звонили с номера, который мы считаем мошенническим.",
            "Никто — ни банк, ни полиция, ни госорганы — не просит по телефону код из SMS "
            "или перевод денег.",
            "Если сомневаетесь, положите трубку и сами позвоните в организацию по её "
            "официальному номеру.",
        ),
        Language.KK: (
            "Бірнеше минут бұрын сізге біз алаяқтық деп санайтын нөмірден қоңырау шалынды.",
            "Ешкім — банк те, полиция да, мемлекеттік органдар да — телефон арқылы SMS-кодты "
            "немесе ақша аударуды сұрамайды.",
            "Күмәніңіз болса, телефонды қойып, ұйымның ресми нөміріне өзіңіз хабарласыңыз.",
        ),
        Language.EN: (
            "A few minutes ago you were called from a number we believe belongs to fraudsters.",
            "Nobody — not a bank, the police or a government office — asks by phone for an "
            "SMS code or a money transfer.",
            "If in doubt, hang up and call the organisation yourself on its official number.",
        ),
    },
}


def _build() -> dict[tuple[ReportCategory, Language], CallbackScript]:
    scripts = {}
    for category, bodies in _BODIES.items():
        for language, body in bodies.items():
            scripts[category, language] = CallbackScript(
                category=category,
                language=language,
                title=_TITLES[category][language],
                lines=(*_INTRO[language], *body, _CLOSING[language]),
            )
    return scripts


SCRIPTS: Final = _build()
"""Every (fraud category, language) → its script, with the placeholders still in."""


def render_script(
    category: ReportCategory | str,
    language: Language | str,
    *,
    operator: str,
    center: str = "",
) -> CallbackScript:
    """The script with the operator's name and the center's name filled in.

    An unknown category falls back to ``other``; an unknown language is an error
    (``ValueError``), since reading the wrong language to someone helps nobody.
    """
    try:
        scheme = ReportCategory(category)
    except ValueError:
        scheme = ReportCategory.OTHER
    tongue = Language(language)
    script = SCRIPTS[scheme, tongue]
    fill = {"operator": operator, "center": center or CENTER_NAMES[tongue]}
    return CallbackScript(
        category=scheme,
        language=tongue,
        title=script.title,
        lines=tuple(line.format(**fill) for line in script.lines),
    )
