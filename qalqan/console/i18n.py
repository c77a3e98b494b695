"""Every word the console shows, in Russian, Kazakh and English.

Plain dicts rather than gettext: the catalogue is small, lives next to the
templates, and a test can check that every key exists in every language
(a missing Kazakh string is a bug, not a fallback). Templates call
``t("key")``; the language is the user's choice, kept in the session.
"""

from __future__ import annotations

from typing import Final

__all__ = ["LANGUAGES", "MESSAGES", "translate", "words"]

LANGUAGES: Final = ("ru", "kk", "en")
"""Russian first: the language most calls are made in."""

MESSAGES: Final[dict[str, dict[str, str]]] = {
    "app_name": {
        "ru": "Qalqan — антимошеннический центр",
        "kk": "Qalqan — алаяқтыққа қарсы орталық",
        "en": "Qalqan — anti-fraud center",
    },
    "language_name": {"ru": "Русский", "kk": "Қазақша", "en": "English"},
    "login_title": {"ru": "Вход", "kk": "Кіру", "en": "Sign in"},
    "username": {"ru": "Имя пользователя", "kk": "Пайдаланушы аты", "en": "User name"},
    "password": {"ru": "Пароль", "kk": "Құпиясөз", "en": "Password"},
    "login_button": {"ru": "Войти", "kk": "Кіру", "en": "Sign in"},
    "login_failed": {
        "ru": "Неверное имя или пароль.",
        "kk": "Аты немесе құпиясөзі қате.",
        "en": "Wrong name or password.",
    },
    "logout": {"ru": "Выйти", "kk": "Шығу", "en": "Sign out"},
    "signed_in_as": {"ru": "Вы вошли как", "kk": "Сіз кірдіңіз:", "en": "Signed in as"},
    "nav_queue": {"ru": "Очередь", "kk": "Кезек", "en": "Queue"},
    "nav_escalations": {"ru": "Эскалации", "kk": "Эскалациялар", "en": "Escalations"},
    "nav_cases": {"ru": "Дела", "kk": "Істер", "en": "Cases"},
    "nav_dashboard": {"ru": "Сводка", "kk": "Жиынтық", "en": "Dashboard"},
    "nav_findings": {"ru": "Находки", "kk": "Табылғандар", "en": "Findings"},
    "role_operator": {"ru": "оператор", "kk": "оператор", "en": "operator"},
    "role_supervisor": {"ru": "старший смены", "kk": "ауысым басшысы", "en": "supervisor"},
    "role_prosecutor": {"ru": "прокурор", "kk": "прокурор", "en": "prosecutor"},
    "role_analyst": {"ru": "аналитик", "kk": "талдаушы", "en": "analyst"},
    "role_admin": {"ru": "администратор", "kk": "әкімші", "en": "admin"},
    # The queue
    "queue_title": {
        "ru": "Перехваченные звонки",
        "kk": "Ұсталған қоңыраулар",
        "en": "Intercepted calls",
    },
    "queue_hint": {
        "ru": "Самый срочный — сверху. Возьмите звонок и перезвоните человеку.",
        "kk": "Ең шұғылы — жоғарыда. Қоңырауды алып, адамға қайта қоңырау шалыңыз.",
        "en": "Most urgent first. Take a call and phone the person back.",
    },
    "queue_empty": {
        "ru": "Очередь пуста. Новые звонки появятся сами.",
        "kk": "Кезек бос. Жаңа қоңыраулар өздігінен шығады.",
        "en": "The queue is empty. New calls will appear by themselves.",
    },
    "waiting_n": {
        "ru": "Ждут обратного звонка: {n}",
        "kk": "Қайта қоңырау күтуде: {n}",
        "en": "Waiting for a call back: {n}",
    },
    "overdue_n": {"ru": "просрочено: {n}", "kk": "мерзімі өткен: {n}", "en": "overdue: {n}"},
    "my_calls": {
        "ru": "Мои звонки в работе",
        "kk": "Жұмыстағы қоңырауларым",
        "en": "My calls in progress",
    },
    "callee": {"ru": "Кому звонили", "kk": "Кімге қоңырау шалынды", "en": "Person called"},
    "caller": {"ru": "Кто звонил", "kk": "Кім қоңырау шалды", "en": "Caller"},
    "when": {"ru": "Когда", "kk": "Қашан", "en": "When"},
    "why_first": {"ru": "Почему срочно", "kk": "Неге шұғыл", "en": "Why urgent"},
    "scheme": {"ru": "Схема", "kk": "Схема", "en": "Scheme"},
    "claim": {"ru": "Взять в работу", "kk": "Жұмысқа алу", "en": "Take this call"},
    "release": {"ru": "Вернуть в очередь", "kk": "Кезекке қайтару", "en": "Put back in queue"},
    "open": {"ru": "Открыть", "kk": "Ашу", "en": "Open"},
    "overdue": {"ru": "ПРОСРОЧЕНО", "kk": "МЕРЗІМІ ӨТТІ", "en": "OVERDUE"},
    "claim_due": {"ru": "взять до", "kk": "алу мерзімі", "en": "take by"},
    "contact_due": {
        "ru": "дозвониться до {time}",
        "kk": "{time} дейін хабарласу керек",
        "en": "reach them by {time}",
    },
    "claim_until": {
        "ru": "звонок за вами до {time}",
        "kk": "қоңырау {time} дейін сізде",
        "en": "the call is yours until {time}",
    },
    "why_vulnerable callee": {
        "ru": "пожилой или уязвимый человек",
        "kk": "қарт немесе осал адам",
        "en": "elderly or vulnerable person",
    },
    "why_call in progress": {
        "ru": "звонок идёт сейчас",
        "kk": "қоңырау қазір жүріп жатыр",
        "en": "call happening now",
    },
    "why_repeat target": {
        "ru": "звонят повторно",
        "kk": "қайталап қоңырау шалуда",
        "en": "called again and again",
    },
    "claimed_by_other": {
        "ru": "Этот звонок уже взял(а) {holder}.",
        "kk": "Бұл қоңырауды {holder} алып қойды.",
        "en": "{holder} has already taken this call.",
    },
    # Severities and schemes
    "sev_critical": {"ru": "критично", "kk": "өте қауіпті", "en": "critical"},
    "sev_high": {"ru": "высокая", "kk": "жоғары", "en": "high"},
    "sev_medium": {"ru": "средняя", "kk": "орташа", "en": "medium"},
    "sev_low": {"ru": "низкая", "kk": "төмен", "en": "low"},
    "cat_bank_security": {
        "ru": "«служба безопасности банка»",
        "kk": "«банктің қауіпсіздік қызметі»",
        "en": "“bank security”",
    },
    "cat_police": {"ru": "«полиция»", "kk": "«полиция»", "en": "“police”"},
    "cat_investment": {"ru": "«инвестиции»", "kk": "«инвестиция»", "en": "“investment”"},
    "cat_egov": {"ru": "«госуслуги»", "kk": "«мемлекеттік қызметтер»", "en": "“e-government”"},
    "cat_operator": {
        "ru": "«сотовый оператор»",
        "kk": "«ұялы байланыс операторы»",
        "en": "“mobile operator”",
    },
    "cat_relative": {
        "ru": "«родственник в беде»",
        "kk": "«туысқан қиындықта»",
        "en": "“relative in trouble”",
    },
    "cat_other": {"ru": "другое", "kk": "басқа", "en": "other"},
    # The alert
    "alert_title": {"ru": "Звонок №{id}", "kk": "№{id} қоңырау", "en": "Call #{id}"},
    "next_step": {"ru": "Что делать сейчас", "kk": "Қазір не істеу керек", "en": "What to do now"},
    "step_claim": {
        "ru": "1. Возьмите звонок в работу.",
        "kk": "1. Қоңырауды жұмысқа алыңыз.",
        "en": "1. Take the call.",
    },
    "step_call": {
        "ru": "Позвоните по номеру {number} и прочитайте текст ниже.",
        "kk": "{number} нөміріне қоңырау шалып, төмендегі мәтінді оқыңыз.",
        "en": "Phone {number} and read the script below.",
    },
    "step_done": {
        "ru": "Работа по звонку завершена.",
        "kk": "Қоңырау бойынша жұмыс аяқталды.",
        "en": "This call has been dealt with.",
    },
    "next_call": {"ru": "Следующий звонок →", "kk": "Келесі қоңырау →", "en": "Next call →"},
    "held_by": {
        "ru": "В работе у: {holder}",
        "kk": "Жұмыста: {holder}",
        "en": "Being worked by: {holder}",
    },
    "reasons": {
        "ru": "Почему звонок перехвачен",
        "kk": "Қоңырау неге ұсталды",
        "en": "Why the call was intercepted",
    },
    "victim": {"ru": "Потенциальная жертва", "kk": "Ықтимал жәбірленуші", "en": "Potential victim"},
    "born": {"ru": "год рождения", "kk": "туған жылы", "en": "born"},
    "vulnerable": {"ru": "уязвимый", "kk": "осал", "en": "vulnerable"},
    "times_targeted": {
        "ru": "звонков от мошенников: {n}",
        "kk": "алаяқтардан қоңыраулар: {n}",
        "en": "fraud calls received: {n}",
    },
    "script": {"ru": "Что сказать", "kk": "Не айту керек", "en": "What to say"},
    "outcome_title": {
        "ru": "Чем закончился звонок",
        "kk": "Қоңырау немен аяқталды",
        "en": "How did the call go",
    },
    "out_reached": {
        "ru": "Дозвонился, всё в порядке",
        "kk": "Хабарласты, бәрі жақсы",
        "en": "Reached, all fine",
    },
    "out_warned": {
        "ru": "Дозвонился и предупредил",
        "kk": "Хабарласып, ескертті",
        "en": "Reached and warned",
    },
    "out_already_paid": {
        "ru": "Уже заплатил(а) мошенникам",
        "kk": "Алаяқтарға ақша төлеп қойды",
        "en": "Already paid the fraudsters",
    },
    "out_not_reachable": {"ru": "Не дозвонился", "kk": "Хабарласа алмады", "en": "Could not reach"},
    "out_false_alarm": {"ru": "Ложная тревога", "kk": "Жалған дабыл", "en": "False alarm"},
    "prevented": {
        "ru": "Предотвращённый ущерб, {currency}",
        "kk": "Алдын алынған шығын, {currency}",
        "en": "Loss prevented, {currency}",
    },
    "suffered": {
        "ru": "Понесённый ущерб, {currency}",
        "kk": "Келтірілген шығын, {currency}",
        "en": "Loss suffered, {currency}",
    },
    "currency_unknown": {
        "ru": "Валюта оператора не известна: сумма не сохранена. Администратор задаёт её настройкой QALQAN_CONSOLE_CURRENCY.",
        "kk": "Оператордың валютасы белгісіз: сома сақталмады. Әкімші оны QALQAN_CONSOLE_CURRENCY баптауымен береді.",
        "en": "The operator's currency is not known: the amount was not saved. An administrator sets it with QALQAN_CONSOLE_CURRENCY.",
    },
    "paid_to": {
        "ru": "Счёт или карта, куда ушли деньги",
        "kk": "Ақша кеткен шот немесе карта",
        "en": "Account or card the money went to",
    },
    "note": {"ru": "Заметка", "kk": "Жазба", "en": "Note"},
    "save_outcome": {
        "ru": "Сохранить результат",
        "kk": "Нәтижені сақтау",
        "en": "Save the outcome",
    },
    "outcome_saved": {
        "ru": "Результат сохранён.",
        "kk": "Нәтиже сақталды.",
        "en": "Outcome saved.",
    },
    "outcome": {"ru": "Результат", "kk": "Нәтиже", "en": "Outcome"},
    "escalate_title": {
        "ru": "Передать прокурору",
        "kk": "Прокурорға жіберу",
        "en": "Escalate to a prosecutor",
    },
    "escalate_reason": {
        "ru": "Почему (обязательно)",
        "kk": "Себебі (міндетті)",
        "en": "Why (required)",
    },
    "escalate_button": {"ru": "Передать прокурору", "kk": "Прокурорға жіберу", "en": "Escalate"},
    "escalated": {
        "ru": "Передано прокурору.",
        "kk": "Прокурорға жіберілді.",
        "en": "Escalated to a prosecutor.",
    },
    "history": {"ru": "История", "kk": "Тарих", "en": "History"},
    "back_to_queue": {"ru": "← К очереди", "kk": "← Кезекке", "en": "← Back to the queue"},
    "amount_invalid": {
        "ru": "Сумма должна быть числом не больше триллиона, например 150000.",
        "kk": "Сома триллионнан аспайтын сан болуы керек, мысалы 150000.",
        "en": "The amount must be a number up to a trillion, e.g. 150000.",
    },
    "choose_outcome": {
        "ru": "Выберите результат.",
        "kk": "Нәтижені таңдаңыз.",
        "en": "Choose an outcome.",
    },
    # Escalations
    "escalations_title": {
        "ru": "Эскалации прокурору",
        "kk": "Прокурорға эскалациялар",
        "en": "Escalations to the prosecutor",
    },
    "escalations_empty": {
        "ru": "Открытых эскалаций нет.",
        "kk": "Ашық эскалациялар жоқ.",
        "en": "No open escalations.",
    },
    "raised_by": {"ru": "Кто передал", "kk": "Кім жіберді", "en": "Raised by"},
    "reason": {"ru": "Причина", "kk": "Себебі", "en": "Reason"},
    "status": {"ru": "Статус", "kk": "Мәртебесі", "en": "Status"},
    "response": {"ru": "Ответ", "kk": "Жауап", "en": "Response"},
    "accept": {"ru": "Принять", "kk": "Қабылдау", "en": "Accept"},
    "return": {"ru": "Вернуть", "kk": "Қайтару", "en": "Return"},
    "answered": {"ru": "Ответ сохранён.", "kk": "Жауап сақталды.", "en": "Answer saved."},
    # Cases and findings
    "cases_title": {"ru": "Дела", "kk": "Істер", "en": "Cases"},
    "cases_empty": {"ru": "Открытых дел нет.", "kk": "Ашық істер жоқ.", "en": "No open cases."},
    "case_title": {"ru": "Дело №{id}", "kk": "№{id} іс", "en": "Case #{id}"},
    "episodes": {"ru": "Эпизоды", "kk": "Эпизодтар", "en": "Episodes"},
    "timeline": {"ru": "Хронология", "kk": "Хронология", "en": "Timeline"},
    "notes": {"ru": "Заметки", "kk": "Жазбалар", "en": "Notes"},
    "add_note": {"ru": "Добавить заметку", "kk": "Жазба қосу", "en": "Add note"},
    "open_case": {
        "ru": "Открыть дело с этим звонком",
        "kk": "Осы қоңыраумен іс ашу",
        "en": "Open a case with this call",
    },
    "case_name": {"ru": "Название дела", "kk": "Істің атауы", "en": "Case title"},
    "in_case": {"ru": "В деле №{id}", "kk": "№{id} істе", "en": "In case #{id}"},
    "findings_title": {
        "ru": "Фермы, кампании, волны подмены номеров",
        "kk": "Фермалар, науқандар, нөмір ауыстыру толқындары",
        "en": "Farms, campaigns, spoofed-number waves",
    },
    "findings_empty": {
        "ru": "Находок пока нет.",
        "kk": "Әзірге ештеңе табылған жоқ.",
        "en": "No findings yet.",
    },
    "map_title": {
        "ru": "Фермы на карте",
        "kk": "Картадағы фермалар",
        "en": "Farms on the map",
    },
    "map_no_map": {
        "ru": "Карты этой страны ({country}) в консоли нет: фермы перечислены ниже с координатами.",
        "kk": "Консольде бұл елдің ({country}) картасы жоқ: фермалар төменде координаттарымен берілген.",
        "en": "The console has no map of this country ({country}): the farms are listed below with their coordinates.",
    },
    "map_no_country": {
        "ru": "Страна оператора пока не известна (в базе нет номеров абонентов): фермы перечислены ниже с координатами. Её можно задать настройкой QALQAN_CONSOLE_COUNTRY.",
        "kk": "Оператордың елі әлі белгісіз (базада абоненттердің нөмірлері жоқ): фермалар төменде координаттарымен берілген. Елді QALQAN_CONSOLE_COUNTRY баптауымен беруге болады.",
        "en": "The operator's country is not known yet (no subscribers' numbers in the store): the farms are listed below with their coordinates. It can be set with QALQAN_CONSOLE_COUNTRY.",
    },
    "country_KZ": {"ru": "Казахстан", "kk": "Қазақстан", "en": "Kazakhstan"},
    "country_AZ": {"ru": "Азербайджан", "kk": "Әзірбайжан", "en": "Azerbaijan"},
    "country_UZ": {"ru": "Узбекистан", "kk": "Өзбекстан", "en": "Uzbekistan"},
    "country_KG": {"ru": "Кыргызстан", "kk": "Қырғызстан", "en": "Kyrgyzstan"},
    "map_hint": {
        "ru": "Место оборудования — оценка по вышкам. Размер точки — число SIM-карт. Нажмите на ферму, чтобы открыть её.",
        "kk": "Жабдықтың орны — мұнаралар бойынша бағалау. Нүктенің өлшемі — SIM-карталар саны. Ашу үшін фермаға басыңыз.",
        "en": "Equipment location is estimated from cell sites. Dot size is the number of SIMs. Click a farm to open it.",
    },
    "map_no_farms": {
        "ru": "Нет ферм с оценкой местоположения.",
        "kk": "Орны бағаланған фермалар жоқ.",
        "en": "No farms with an estimated location.",
    },
    "map_sims": {"ru": "SIM-карт", "kk": "SIM-карталар", "en": "SIMs"},
    "map_where": {
        "ru": "Координаты (оценка)",
        "kk": "Координаттар (бағалау)",
        "en": "Coordinates (estimate)",
    },
    "city_almaty": {"ru": "Алматы", "kk": "Алматы", "en": "Almaty"},
    "city_astana": {"ru": "Астана", "kk": "Астана", "en": "Astana"},
    "city_shymkent": {"ru": "Шымкент", "kk": "Шымкент", "en": "Shymkent"},
    "city_aktobe": {"ru": "Актобе", "kk": "Ақтөбе", "en": "Aktobe"},
    "city_karaganda": {"ru": "Караганда", "kk": "Қарағанды", "en": "Karaganda"},
    "city_aktau": {"ru": "Актау", "kk": "Ақтау", "en": "Aktau"},
    "city_oskemen": {"ru": "Усть-Каменогорск", "kk": "Өскемен", "en": "Oskemen"},
    "city_oral": {"ru": "Уральск", "kk": "Орал", "en": "Oral"},
    "city_baku": {"ru": "Баку", "kk": "Баку", "en": "Baku"},
    "city_ganja": {"ru": "Гянджа", "kk": "Гянджа", "en": "Ganja"},
    "city_sumqayit": {"ru": "Сумгайыт", "kk": "Сумгайыт", "en": "Sumqayit"},
    "city_mingachevir": {"ru": "Мингечевир", "kk": "Мингечевир", "en": "Mingachevir"},
    "city_shaki": {"ru": "Шеки", "kk": "Шеки", "en": "Shaki"},
    "city_lankaran": {"ru": "Ленкорань", "kk": "Ленкорань", "en": "Lankaran"},
    "city_nakhchivan": {"ru": "Нахичевань", "kk": "Нахичевань", "en": "Nakhchivan"},
    "city_tashkent": {"ru": "Ташкент", "kk": "Ташкент", "en": "Tashkent"},
    "city_samarkand": {"ru": "Самарканд", "kk": "Самарқанд", "en": "Samarkand"},
    "city_bukhara": {"ru": "Бухара", "kk": "Бұхара", "en": "Bukhara"},
    "city_namangan": {"ru": "Наманган", "kk": "Наманган", "en": "Namangan"},
    "city_andijan": {"ru": "Андижан", "kk": "Әндіжан", "en": "Andijan"},
    "city_nukus": {"ru": "Нукус", "kk": "Нөкіс", "en": "Nukus"},
    "city_karshi": {"ru": "Карши", "kk": "Қарши", "en": "Karshi"},
    "city_termez": {"ru": "Термез", "kk": "Термез", "en": "Termez"},
    "city_bishkek": {"ru": "Бишкек", "kk": "Бішкек", "en": "Bishkek"},
    "city_osh": {"ru": "Ош", "kk": "Ош", "en": "Osh"},
    "city_jalal_abad": {"ru": "Джалал-Абад", "kk": "Жалалабад", "en": "Jalal-Abad"},
    "city_karakol": {"ru": "Каракол", "kk": "Қарақол", "en": "Karakol"},
    "city_naryn": {"ru": "Нарын", "kk": "Нарын", "en": "Naryn"},
    "city_talas": {"ru": "Талас", "kk": "Талас", "en": "Talas"},
    "city_batken": {"ru": "Баткен", "kk": "Баткен", "en": "Batken"},
    "campaign_hours_title": {
        "ru": "Когда работает колл-центр",
        "kk": "Колл-орталық қашан жұмыс істейді",
        "en": "When the call center works",
    },
    "campaign_works_day": {
        "ru": "Работает по {offset}: рабочий день {start}–{end} по местному времени",
        "kk": "{offset} уақытымен жұмыс істейді: жергілікті уақыт бойынша жұмыс күні {start}–{end}",
        "en": "Works {offset}, office day {start}–{end} local",
    },
    "campaign_works": {
        "ru": "Работает по {offset} (оценка по часам звонков)",
        "kk": "{offset} уақытымен жұмыс істейді (қоңырау сағаттары бойынша бағалау)",
        "en": "Works {offset} (estimated from its calling hours)",
    },
    "campaign_offset_unknown": {
        "ru": "Часовой пояс оценить не удалось.",
        "kk": "Уақыт белдеуін бағалау мүмкін болмады.",
        "en": "The time zone could not be estimated.",
    },
    "campaign_hours_missing": {
        "ru": "Почасовая активность в анализе не сохранена — показан только часовой пояс.",
        "kk": "Сағат бойынша белсенділік талдауда сақталмаған — тек уақыт белдеуі көрсетілген.",
        "en": "Hourly activity was not stored by the analysis — only the time zone is shown.",
    },
    "chart_calls_by_hour": {"ru": "Звонки", "kk": "Қоңыраулар", "en": "Calls"},
    "chart_utc_hour": {"ru": "Час (UTC)", "kk": "Сағат (UTC)", "en": "Hour (UTC)"},
    "chart_by_route": {
        "ru": "Перехваченные звонки по маршруту",
        "kk": "Ұсталған қоңыраулар бағыт бойынша",
        "en": "Intercepted calls by route",
    },
    "chart_by_caller_id": {
        "ru": "По типу номера звонящего",
        "kk": "Қоңырау шалушы нөмірінің түрі бойынша",
        "en": "By caller-ID type",
    },
    "chart_trend": {
        "ru": "Динамика по дням и маршрутам",
        "kk": "Күндер мен бағыттар бойынша серпін",
        "en": "Trend by day and route",
    },
    "route_mobile": {
        "ru": "мобильная сеть (наш абонент)",
        "kk": "ұялы желі (біздің абонент)",
        "en": "mobile (our network)",
    },
    "route_fixed": {
        "ru": "наша фиксированная связь",
        "kk": "біздің тұрақты байланыс",
        "en": "our fixed line",
    },
    "route_national": {
        "ru": "другой оператор РК",
        "kk": "ҚР басқа операторы",
        "en": "other domestic operator",
    },
    "route_international": {
        "ru": "международный шлюз",
        "kk": "халықаралық шлюз",
        "en": "international gateway",
    },
    "route_voip": {"ru": "VoIP", "kk": "VoIP", "en": "VoIP"},
    "route_unknown": {"ru": "неизвестно", "kk": "белгісіз", "en": "unknown"},
    "cid_ours": {
        "ru": "номер нашего абонента",
        "kk": "біздің абонент нөмірі",
        "en": "our subscriber's number",
    },
    "cid_domestic": {
        "ru": "номер своей страны",
        "kk": "өз елінің нөмірі",
        "en": "domestic number",
    },
    "cid_foreign": {"ru": "иностранный номер", "kk": "шетелдік нөмір", "en": "foreign number"},
    "cid_withheld": {"ru": "номер скрыт", "kk": "нөмір жасырылған", "en": "number withheld"},
    "cid_protected": {
        "ru": "защищённый номер (банк, полиция)",
        "kk": "қорғалған нөмір (банк, полиция)",
        "en": "protected number (bank, police)",
    },
    "kind_sim_farm": {"ru": "SIM-ферма", "kk": "SIM-ферма", "en": "SIM farm"},
    "kind_campaign": {
        "ru": "кампания (колл-центр)",
        "kk": "науқан (колл-орталық)",
        "en": "campaign (call center)",
    },
    "kind_spoofed_wave": {
        "ru": "волна подменённых номеров",
        "kk": "ауыстырылған нөмірлер толқыны",
        "en": "spoofed-number wave",
    },
    "kind_intercepted_call": {
        "ru": "перехваченный звонок",
        "kk": "ұсталған қоңырау",
        "en": "intercepted call",
    },
    "prevented_total": {"ru": "Предотвращено", "kk": "Алдын алынды", "en": "Prevented"},
    "suffered_total": {"ru": "Потеряно", "kk": "Жоғалтылды", "en": "Lost"},
    "close_case": {"ru": "Закрыть дело", "kk": "Істі жабу", "en": "Close the case"},
    "st_open": {"ru": "открыто", "kk": "ашық", "en": "open"},
    "st_claimed": {"ru": "в работе", "kk": "жұмыста", "en": "being worked"},
    "st_done": {"ru": "завершено", "kk": "аяқталды", "en": "done"},
    "st_accepted": {"ru": "принято", "kk": "қабылданды", "en": "accepted"},
    "st_returned": {"ru": "возвращено", "kk": "қайтарылды", "en": "returned"},
    "st_closed": {"ru": "закрыто", "kk": "жабық", "en": "closed"},
    "act_claimed": {"ru": "взял(а) в работу", "kk": "жұмысқа алды", "en": "took the call"},
    "act_released": {"ru": "вернул(а) в очередь", "kk": "кезекке қайтарды", "en": "put it back"},
    "act_outcome": {
        "ru": "записал(а) результат",
        "kk": "нәтижені жазды",
        "en": "recorded the outcome",
    },
    "act_escalated": {"ru": "передал(а) прокурору", "kk": "прокурорға жіберді", "en": "escalated"},
    "rule_sim_farm": {"ru": "SIM-ферма", "kk": "SIM-ферма", "en": "SIM farm"},
    "rule_simbox": {"ru": "SIM-бокс", "kk": "SIM-бокс", "en": "SIM box"},
    "rule_spoofed_cli": {
        "ru": "Подменённый номер",
        "kk": "Ауыстырылған нөмір",
        "en": "Spoofed caller ID",
    },
    "rule_roaming": {"ru": "Роуминг", "kk": "Роуминг", "en": "Roaming"},
    "rule_sim_box": {"ru": "SIM-бокс", "kk": "SIM-бокс", "en": "SIM box"},
    "rule_simfarm": {"ru": "SIM-ферма", "kk": "SIM-ферма", "en": "SIM farm"},
    "rule_wangiri": {
        "ru": "Wangiri (звонок-сброс)",
        "kk": "Wangiri (бір шылдырлы қоңырау)",
        "en": "Wangiri (one ring)",
    },
    "rule_sequential_dialling": {
        "ru": "Обзвон подряд по номерам",
        "kk": "Нөмірлерді қатарынан теру",
        "en": "Dialling through number blocks",
    },
    "rule_stir_shaken": {
        "ru": "Подпись номера (STIR/SHAKEN)",
        "kk": "Нөмір қолтаңбасы (STIR/SHAKEN)",
        "en": "Caller ID signature (STIR/SHAKEN)",
    },
    "rule_trusted_caller": {
        "ru": "Проверенный отправитель",
        "kk": "Тексерілген қоңырау шалушы",
        "en": "Trusted caller",
    },
    "rule_vulnerable_callee": {
        "ru": "Уязвимый абонент",
        "kk": "Осал абонент",
        "en": "Vulnerable callee",
    },
    "rule_deadline": {"ru": "Не уложились во время", "kk": "Уақытқа сыймады", "en": "Out of time"},
    "rule_sip": {"ru": "SIP-узел", "kk": "SIP түйіні", "en": "SIP node"},
    "rule_http": {"ru": "HTTP API", "kk": "HTTP API", "en": "HTTP API"},
    "rule_number_scoring": {
        "ru": "Модель оценки номера",
        "kk": "Нөмірді бағалау моделі",
        "en": "Number scoring model",
    },
    "rule_fraud_call": {"ru": "Модель звонков", "kk": "Қоңыраулар моделі", "en": "Call model"},
    "rule_model": {"ru": "Модель поведения", "kk": "Мінез-құлық моделі", "en": "Behaviour model"},
    "detail_calls": {"ru": "звонков", "kk": "қоңыраулар", "en": "calls"},
    "detail_day": {"ru": "день (UTC)", "kk": "күн (UTC)", "en": "day (UTC)"},
    "detail_group": {"ru": "группа", "kk": "топ", "en": "grouped by"},
    "detail_numbers": {"ru": "разных номеров", "kk": "әртүрлі нөмірлер", "en": "distinct numbers"},
    "detail_rule": {"ru": "правило", "kk": "ереже", "en": "rule"},
    "rule_campaign": {
        "ru": "Колл-центр мошенников",
        "kk": "Алаяқтардың колл-орталығы",
        "en": "Fraud call center",
    },
    "rule_reputation": {
        "ru": "Список подозрительных",
        "kk": "Күдіктілер тізімі",
        "en": "Watch list",
    },
    "rule_content": {
        "ru": "Мошеннический контент",
        "kk": "Алаяқтық мазмұн",
        "en": "Scam content",
    },
    "rule_public": {
        "ru": "Сообщение гражданина",
        "kk": "Азаматтың хабарламасы",
        "en": "Citizen's report",
    },
    "dashboard_title": {"ru": "Сводка смены", "kk": "Ауысым жиынтығы", "en": "Shift dashboard"},
    "chart_intercepted": {
        "ru": "Перехвачено звонков",
        "kk": "Ұсталған қоңыраулар",
        "en": "Intercepted calls",
    },
    "chart_worked": {"ru": "Отработано", "kk": "Өңделді", "en": "Worked"},
    "chart_per_day": {
        "ru": "Перехваченные звонки по дням (UTC)",
        "kk": "Күн бойынша ұсталған қоңыраулар (UTC)",
        "en": "Intercepted calls per day (UTC)",
    },
    "chart_outcomes": {
        "ru": "Результаты обратных звонков",
        "kk": "Қайта қоңырау нәтижелері",
        "en": "Call-back outcomes",
    },
    "sla_waiting": {"ru": "Ждут сейчас", "kk": "Қазір күтуде", "en": "Waiting now"},
    "sla_being_worked": {"ru": "В работе", "kk": "Жұмыста", "en": "Being worked"},
    "sla_overdue_claim": {
        "ru": "Не взяты вовремя",
        "kk": "Уақытында алынбады",
        "en": "Not taken in time",
    },
    "sla_claimed_in_time": {
        "ru": "Взяты за 5 минут",
        "kk": "5 минутта алынды",
        "en": "Taken within 5 min",
    },
    "no_data": {"ru": "нет данных", "kk": "деректер жоқ", "en": "no data"},
    "graph": {"ru": "Связи", "kk": "Байланыстар", "en": "Links"},
    "graph_episode": {"ru": "звонок", "kk": "қоңырау", "en": "call"},
    "graph_victim": {"ru": "жертва", "kk": "жәбірленуші", "en": "victim"},
    "graph_legend": {
        "ru": "Жёлтый — дело, красный — звонки, зелёный — жертвы, синий — номера, SIM, IMEI, счета.",
        "kk": "Сары — іс, қызыл — қоңыраулар, жасыл — жәбірленушілер, көк — нөмірлер, SIM, IMEI, шоттар.",
        "en": "Yellow: the case; red: calls; green: victims; blue: numbers, SIMs, IMEIs, accounts.",
    },
    "ent_number": {"ru": "номер", "kk": "нөмір", "en": "number"},
    "ent_sim": {"ru": "SIM", "kk": "SIM", "en": "SIM"},
    "ent_imei": {"ru": "IMEI", "kk": "IMEI", "en": "IMEI"},
    "ent_cell": {"ru": "вышка", "kk": "мұнара", "en": "cell"},
    "ent_account": {"ru": "счёт", "kk": "шот", "en": "account"},
    "ent_farm": {"ru": "ферма", "kk": "ферма", "en": "farm"},
    "ent_campaign": {"ru": "кампания", "kk": "науқан", "en": "campaign"},
    "ent_route": {"ru": "маршрут", "kk": "маршрут", "en": "route"},
    "suggestions": {"ru": "Похожие эпизоды", "kk": "Ұқсас эпизодтар", "en": "Related alerts"},
    "shared": {"ru": "общее", "kk": "ортақ", "en": "shared"},
    "add_to_case": {"ru": "Добавить в дело", "kk": "Іске қосу", "en": "Add to case"},
    "mark_vulnerable": {
        "ru": "Отметить как уязвимого",
        "kk": "Осал деп белгілеу",
        "en": "Mark as vulnerable",
    },
    "nav_users": {"ru": "Пользователи", "kk": "Пайдаланушылар", "en": "Users"},
    "users_title": {"ru": "Учётные записи", "kk": "Есептік жазбалар", "en": "Accounts"},
    "users_sessions": {"ru": "Сеансы", "kk": "Сеанстар", "en": "Sessions"},
    "user_sign_out": {
        "ru": "Завершить все",
        "kk": "Барлығын аяқтау",
        "en": "Sign out everywhere",
    },
    "users_hint": {
        "ru": "Пароль новой учётной записи создаётся случайным и показывается один раз. "
        "Всё, что здесь делается, пишется в журнал аудита.",
        "kk": "Жаңа есептік жазбаның құпиясөзі кездейсоқ жасалып, бір рет көрсетіледі. "
        "Мұнда жасалғанның бәрі аудит журналына жазылады.",
        "en": "A new account's password is random and shown once. "
        "Everything done here goes into the audit log.",
    },
    "user_add_title": {
        "ru": "Новая учётная запись",
        "kk": "Жаңа есептік жазба",
        "en": "New account",
    },
    "user_add": {"ru": "Создать", "kk": "Жасау", "en": "Create"},
    "save": {"ru": "Сохранить", "kk": "Сақтау", "en": "Save"},
    "user_disable": {"ru": "Отключить", "kk": "Өшіру", "en": "Disable"},
    "user_enable": {"ru": "Включить", "kk": "Қосу", "en": "Enable"},
    "user_new_password": {"ru": "Новый пароль", "kk": "Жаңа құпиясөз", "en": "New password"},
    "user_saved": {"ru": "Сохранено: {name}.", "kk": "Сақталды: {name}.", "en": "Saved: {name}."},
    "user_form_incomplete": {
        "ru": "Укажите имя и роль.",
        "kk": "Аты мен рөлін көрсетіңіз.",
        "en": "Give a name and a role.",
    },
    "new_password_title": {
        "ru": "Пароль для {name}",
        "kk": "{name} үшін құпиясөз",
        "en": "Password for {name}",
    },
    "new_password_hint": {
        "ru": "Передайте его пользователю лично. Больше он показан не будет.",
        "kk": "Оны пайдаланушыға өзі беріңіз. Ол басқа көрсетілмейді.",
        "en": "Hand it to the person yourself. It will not be shown again.",
    },
    "wf_own_account": {
        "ru": "Свою учётную запись нельзя отключить или сменить ей роль — это делает другой администратор.",
        "kk": "Өз есептік жазбаңызды өшіруге немесе рөлін өзгертуге болмайды — мұны басқа әкімші жасайды.",
        "en": "You cannot disable your own account or change its role: another admin does that.",
    },
    "wf_user_name_length": {
        "ru": "Имя пользователя — от 1 до 64 символов.",
        "kk": "Пайдаланушы аты 1-ден 64 таңбаға дейін.",
        "en": "A user name needs 1 to 64 characters.",
    },
    "wf_user_name_reserved": {
        "ru": "Имя {name} занято журналом аудита, выберите другое.",
        "kk": "{name} атауын аудит журналы пайдаланады, басқасын таңдаңыз.",
        "en": "The name {name} is reserved for the audit log: choose another.",
    },
    "wf_user_name_mixed": {
        "ru": "В имени {name} смешаны алфавиты (например, латинская и кириллическая «а»): пишите одним алфавитом.",
        "kk": "{name} атында әліпбилер араласқан (мысалы, латын және кирилл «а»): бір әліпбимен жазыңыз.",
        "en": "The name {name} mixes alphabets (a Latin and a Cyrillic «a», say): write it in one alphabet.",
    },
    "wf_user_name_character": {
        "ru": "В имени {name} есть невидимый или управляющий символ.",
        "kk": "{name} атында көрінбейтін немесе басқарушы таңба бар.",
        "en": "The name {name} holds an invisible or control character.",
    },
    "wf_user_exists": {
        "ru": "Пользователь {existing} уже есть (регистр букв в именах не различается).",
        "kk": "{existing} пайдаланушысы бар (аттарда әріп регистрі ескерілмейді).",
        "en": "There is already a user named {existing} (names are the same in any case).",
    },
    "wf_user_name_lookalike": {
        "ru": "Имя {name} читается как имя пользователя {existing}: выберите другое.",
        "kk": "{name} аты {existing} пайдаланушысының аты сияқты оқылады: басқасын таңдаңыз.",
        "en": "The name {name} reads as the existing user {existing}: choose another.",
    },
    "role": {"ru": "Роль", "kk": "Рөлі", "en": "Role"},
    "active": {"ru": "активна", "kk": "белсенді", "en": "active"},
    "disabled": {"ru": "отключена", "kk": "өшірілген", "en": "disabled"},
    "detail_first_seen": {"ru": "впервые замечено", "kk": "алғаш байқалды", "en": "first seen"},
    "detail_last_seen": {"ru": "последний раз", "kk": "соңғы рет", "en": "last seen"},
    "detail_lat": {"ru": "широта", "kk": "ендік", "en": "latitude"},
    "detail_lon": {"ru": "долгота", "kk": "бойлық", "en": "longitude"},
    "detail_n_sims": {"ru": "SIM-карт", "kk": "SIM-карталар", "en": "SIMs"},
    "detail_sites": {"ru": "площадки", "kk": "алаңдар", "en": "sites"},
    "detail_n_calls": {"ru": "звонков", "kk": "қоңыраулар", "en": "calls"},
    "detail_n_victims": {"ru": "людей", "kk": "адамдар", "en": "people called"},
    "detail_utc_offset_h": {
        "ru": "часовой пояс (UTC+ч, оценка)",
        "kk": "уақыт белдеуі (UTC+сағ, бағалау)",
        "en": "time zone (UTC+h, estimated)",
    },
    "detail_farm_ids": {"ru": "фермы", "kk": "фермалар", "en": "farms"},
    "detail_routes": {"ru": "маршруты", "kk": "маршруттар", "en": "routes"},
    "detail_numbers_total": {"ru": "номеров", "kk": "нөмірлер", "en": "numbers"},
    "detail_kind": {"ru": "тип", "kk": "түрі", "en": "type"},
    "detail_peak_lines": {
        "ru": "линий одновременно (пик)",
        "kk": "бір мезгілдегі желілер (шың)",
        "en": "lines at once (peak)",
    },
    "detail_calls_by_utc_hour": {
        "ru": "звонки по часам (UTC)",
        "kk": "сағат бойынша қоңыраулар (UTC)",
        "en": "calls by hour (UTC)",
    },
    "finding_title": {"ru": "Находка №{id}", "kk": "№{id} табылған", "en": "Finding #{id}"},
    "finding_reasons": {"ru": "Что обнаружено", "kk": "Не анықталды", "en": "What was found"},
    "open_case_finding": {
        "ru": "Открыть дело по этой находке",
        "kk": "Осы табылған бойынша іс ашу",
        "en": "Open a case with this finding",
    },
    "back_to_findings": {"ru": "← К находкам", "kk": "← Табылғандарға", "en": "← Back to findings"},
    # Screening's actions, as a timeline tells them
    "action_allow": {"ru": "пропущен", "kk": "өткізілді", "en": "allowed"},
    "action_warn": {"ru": "с предупреждением", "kk": "ескертумен", "en": "callee warned"},
    "action_divert": {
        "ru": "переведён в антиколл-центр",
        "kk": "антиколл-орталыққа бұрылды",
        "en": "diverted to the anti-call-center",
    },
    "action_block": {"ru": "заблокирован", "kk": "бұғатталды", "en": "blocked"},
    # A case's timeline
    "tl_case_opened": {
        "ru": "Дело открыто: {title}",
        "kk": "Іс ашылды: {title}",
        "en": "Case opened: {title}",
    },
    "tl_intercepted": {
        "ru": "Перехвачен звонок с номера {caller} — {action}",
        "kk": "{caller} нөмірінен қоңырау ұсталды — {action}",
        "en": "Call from {caller} intercepted — {action}",
    },
    "tl_withheld": {"ru": "скрытый номер", "kk": "жасырын нөмір", "en": "a withheld number"},
    "tl_note_added": {"ru": "Добавлена заметка", "kk": "Жазба қосылды", "en": "Note added"},
    "tl_escalated": {
        "ru": "Передано прокурору",
        "kk": "Прокурорға жіберілді",
        "en": "Escalated to a prosecutor",
    },
    "tl_answered": {
        "ru": "Ответ прокурора: {status}",
        "kk": "Прокурордың жауабы: {status}",
        "en": "Prosecutor's answer: {status}",
    },
    "tl_case_closed": {
        "ru": "Дело закрыто: {reason}",
        "kk": "Іс жабылды: {reason}",
        "en": "Case closed: {reason}",
    },
    "act_reassigned": {
        "ru": "передал(а) звонок",
        "kk": "қоңырауды берді",
        "en": "handed the call over",
    },
    # Closing a case
    "close_title": {"ru": "Закрыть дело", "kk": "Істі жабу", "en": "Close the case"},
    "close_reason": {"ru": "Причина", "kk": "Себебі", "en": "Reason"},
    "close_note": {
        "ru": "Пояснение (необязательно)",
        "kk": "Түсіндірме (міндетті емес)",
        "en": "Note (optional)",
    },
    "close_choose": {"ru": "— выберите —", "kk": "— таңдаңыз —", "en": "— choose —"},
    "close_confirm": {
        "ru": "После закрытия в дело нельзя добавлять звонки и заметки.",
        "kk": "Жабылғаннан кейін іске қоңыраулар мен жазбалар қосуға болмайды.",
        "en": "Once closed, no calls or notes can be added to the case.",
    },
    "closed_by": {"ru": "Закрыто", "kk": "Жабылды", "en": "Closed"},
    "case_closed_flash": {"ru": "Дело закрыто.", "kk": "Іс жабылды.", "en": "The case is closed."},
    "evidence_title": {
        "ru": "Пакет доказательств",
        "kk": "Дәлелдер пакеті",
        "en": "Evidence package",
    },
    "evidence_help": {
        "ru": "Все данные дела, отчёт на русском и английском и подписанный перечень файлов — "
        "для прокуратуры и полиции других стран. Выгрузка записывается в журнал аудита.",
        "kk": "Істің барлық деректері, орыс және ағылшын тілдеріндегі есеп және қол қойылған "
        "файлдар тізімі — прокуратура мен басқа елдердің полициясы үшін. Жүктеу аудит "
        "журналына жазылады.",
        "en": "Everything about the case, a report in Russian and English and a signed list of "
        "its files, for prosecutors and police abroad. Each download is written to the audit log.",
    },
    "evidence_button": {
        "ru": "Сформировать и скачать (zip)",
        "kk": "Жасау және жүктеу (zip)",
        "en": "Generate and download (zip)",
    },
    "evidence_no_key": {
        "ru": "Нет ключа подписи: администратор создаёт его командой qalqan keys generate.",
        "kk": "Қол қою кілті жоқ: әкімші оны qalqan keys generate командасымен жасайды.",
        "en": "No signing key: an administrator makes one with qalqan keys generate.",
    },
    "close_referred": {
        "ru": "передано в полицию / прокуратуру",
        "kk": "полицияға / прокуратураға берілді",
        "en": "referred to police / prosecutors",
    },
    "close_victims_warned": {
        "ru": "все, кого удалось, предупреждены",
        "kk": "қолжетімді адамдардың бәрі ескертілді",
        "en": "everyone reachable was warned",
    },
    "close_funds_recovered": {
        "ru": "деньги возвращены",
        "kk": "ақша қайтарылды",
        "en": "funds recovered",
    },
    "close_false_alarm": {"ru": "ложная тревога", "kk": "жалған дабыл", "en": "false alarm"},
    "close_duplicate": {
        "ru": "дубликат другого дела",
        "kk": "басқа істің көшірмесі",
        "en": "duplicate of another case",
    },
    "close_insufficient_evidence": {
        "ru": "недостаточно доказательств",
        "kk": "дәлел жеткіліксіз",
        "en": "insufficient evidence",
    },
    # Suggestions: what two alerts share
    "shared_victim": {
        "ru": "тот же человек {number}",
        "kk": "сол адам {number}",
        "en": "same person {number}",
    },
    # The supervisor's floor
    "floor_title": {"ru": "Сейчас в работе", "kk": "Қазір жұмыста", "en": "Being worked now"},
    "floor_empty": {
        "ru": "Сейчас никто не держит звонков.",
        "kk": "Қазір ешкім қоңырау ұстап тұрған жоқ.",
        "en": "Nobody holds a call right now.",
    },
    "floor_holder": {"ru": "У кого", "kk": "Кімде", "en": "Held by"},
    "floor_until": {"ru": "до {time}", "kk": "{time} дейін", "en": "until {time}"},
    "hand_to": {"ru": "Передать", "kk": "Беру", "en": "Hand to"},
    "hand_button": {"ru": "Передать", "kk": "Беру", "en": "Hand over"},
    "holding_n": {
        "ru": "{name} (в работе: {n})",
        "kk": "{name} (жұмыста: {n})",
        "en": "{name} (holding {n})",
    },
    "handed_over": {
        "ru": "Звонок передан: {name}.",
        "kk": "Қоңырау берілді: {name}.",
        "en": "Call handed to {name}.",
    },
    "release_other": {
        "ru": "Вернуть в очередь",
        "kk": "Кезекке қайтару",
        "en": "Put back in the queue",
    },
    # The prosecutor's cards
    "esc_about_call": {"ru": "Звонок", "kk": "Қоңырау", "en": "The call"},
    "esc_about_case": {"ru": "Дело", "kk": "Іс", "en": "The case"},
    "esc_episodes": {
        "ru": "Звонков в деле: {n}",
        "kk": "Істегі қоңыраулар: {n}",
        "en": "Calls in the case: {n}",
    },
    "esc_waiting": {
        "ru": "Ждут ответа: {n}",
        "kk": "Жауап күтуде: {n}",
        "en": "Waiting for an answer: {n}",
    },
    "esc_answered": {"ru": "Отвеченные", "kk": "Жауап берілгендер", "en": "Answered"},
    "choose_person": {
        "ru": "Выберите, кому передать.",
        "kk": "Кімге беретініңізді таңдаңыз.",
        "en": "Choose whom to hand it to.",
    },
    "choose_close_reason": {
        "ru": "Выберите причину закрытия.",
        "kk": "Жабу себебін таңдаңыз.",
        "en": "Choose why the case is closed.",
    },
    "map_region": {"ru": "Область", "kk": "Облыс", "en": "Region"},
    "fig_intercepted": {
        "ru": "Перехвачено за {days} дн.",
        "kk": "{days} күнде ұсталды",
        "en": "Intercepted in {days} days",
    },
    "fig_warned": {
        "ru": "Предупреждены (дозвонились и предупредили)",
        "kk": "Ескертілді (хабарласып, ескертті)",
        "en": "Warnings delivered",
    },
    # Refusals of the case store an operator can meet
    "wf_already_worked": {
        "ru": "По этому звонку уже записан результат: {outcome}.",
        "kk": "Бұл қоңырау бойынша нәтиже жазылып қойған: {outcome}.",
        "en": "This call was already worked: {outcome}.",
    },
    "wf_not_claimed": {
        "ru": "Этот звонок сейчас никто не держит — возвращать нечего.",
        "kk": "Бұл қоңырауды қазір ешкім ұстап тұрған жоқ — қайтаратын ештеңе жоқ.",
        "en": "Nobody holds this call now: there is nothing to put back.",
    },
    "wf_claim_first": {
        "ru": "Сначала возьмите звонок в работу, потом записывайте результат.",
        "kk": "Алдымен қоңырауды жұмысқа алыңыз, содан кейін нәтижені жазыңыз.",
        "en": "Take the call first, then record the outcome.",
    },
    "wf_not_an_account": {
        "ru": "«{value}» — не счёт. Пишите так: bank:KZ…, msisdn:+7…, ewallet:… или crypto:…",
        "kk": "«{value}» — шот емес. Былай жазыңыз: bank:KZ…, msisdn:+7…, ewallet:… немесе crypto:…",
        "en": "“{value}” is not an account. Write bank:KZ…, msisdn:+7…, ewallet:… or crypto:…",
    },
    "wf_unreached_losses": {
        "ru": "Если до человека не дозвонились, суммы ущерба записать нельзя.",
        "kk": "Адамға хабарласа алмасаңыз, залал сомасын жазуға болмайды.",
        "en": "A person who was not reached cannot report losses.",
    },
    "wf_case_closed": {
        "ru": "Дело №{case} закрыто: в него больше ничего не добавить.",
        "kk": "№{case} іс жабық: оған енді ештеңе қосуға болмайды.",
        "en": "Case #{case} is closed: nothing more can be added to it.",
    },
    "wf_in_another_case": {
        "ru": "Этот звонок уже в деле №{case}.",
        "kk": "Бұл қоңырау №{case} істе тұр.",
        "en": "This call is already in case #{case}.",
    },
    # Errors
    "forbidden_title": {"ru": "Нет доступа", "kk": "Қолжетімділік жоқ", "en": "Not allowed"},
    "forbidden_text": {
        "ru": "Ваша роль ({role}) не даёт доступа к этой странице или действию. Попытка записана в журнал.",
        "kk": "Сіздің рөліңіз ({role}) бұл бетке немесе әрекетке рұқсат бермейді. Әрекет журналға жазылды.",
        "en": "Your role ({role}) does not allow this page or action. The attempt has been logged.",
    },
    "not_found_title": {"ru": "Не найдено", "kk": "Табылмады", "en": "Not found"},
    "csrf_title": {
        "ru": "Форма устарела",
        "kk": "Форманың мерзімі өтті",
        "en": "The form has expired",
    },
    "csrf_text": {
        "ru": "Обновите страницу и попробуйте ещё раз.",
        "kk": "Бетті жаңартып, қайталап көріңіз.",
        "en": "Reload the page and try again.",
    },
    "workflow_error": {
        "ru": "Это действие сейчас невозможно",
        "kk": "Бұл әрекет қазір мүмкін емес",
        "en": "This cannot be done now",
    },
    "login_locked_title": {
        "ru": "Слишком много неудачных входов",
        "kk": "Сәтсіз кіру әрекеттері тым көп",
        "en": "Too many failed sign-ins",
    },
    "login_locked_text": {
        "ru": "Вход с этим именем или с этого адреса временно закрыт. Попробуйте снова после {until} UTC или обратитесь к администратору.",
        "kk": "Бұл атпен немесе бұл мекенжайдан кіру уақытша жабық. {until} UTC кейін қайталаңыз немесе әкімшіге хабарласыңыз.",
        "en": "Signing in with this name or from this address is closed for a while. Try again after {until} UTC, or ask an admin.",
    },
    "login_busy_title": {
        "ru": "Сервер занят",
        "kk": "Сервер бос емес",
        "en": "The server is busy",
    },
    "login_busy_text": {
        "ru": "Сейчас проверяется много входов. Подождите секунду и попробуйте ещё раз.",
        "kk": "Қазір көп кіру тексерілуде. Бір секунд күтіп, қайталап көріңіз.",
        "en": "Many sign-ins are being checked right now. Wait a second and try again.",
    },
    "session_ended": {
        "ru": "Сеанс завершён. Войдите снова.",
        "kk": "Сеанс аяқталды. Қайта кіріңіз.",
        "en": "Your session has ended. Please sign in again.",
    },
    "server_error_title": {
        "ru": "Ошибка на сервере",
        "kk": "Сервердегі қате",
        "en": "Something went wrong on the server",
    },
    "server_error_text": {
        "ru": "Действие не выполнено. Ошибка записана; попробуйте ещё раз или сообщите администратору.",
        "kk": "Әрекет орындалмады. Қате жазылды; қайталап көріңіз немесе әкімшіге хабарлаңыз.",
        "en": "Nothing was done. The error has been logged; try again or tell an admin.",
    },
    "bad_request_title": {
        "ru": "Неверный запрос",
        "kk": "Қате сұрау",
        "en": "Bad request",
    },
    "go_home": {"ru": "На главную", "kk": "Басты бетке", "en": "Go to my start page"},
    "no_pages": {
        "ru": "Для вашей роли здесь нет страниц.",
        "kk": "Сіздің рөліңізге мұнда беттер жоқ.",
        "en": "There are no pages here for your role.",
    },
    # The money trail (qalqan.cases.money, qalqan.console.money_flow)
    "money_title": {"ru": "Путь денег", "kk": "Ақша жолы", "en": "Money trail"},
    "money_flow_of": {
        "ru": "Деньги жертв кампании {campaigns}",
        "kk": "{campaigns} науқаны жәбірленушілерінің ақшасы",
        "en": "Victims' money of campaign {campaigns}",
    },
    "money_col_victims": {"ru": "Жертвы", "kk": "Жәбірленушілер", "en": "Victims"},
    "money_col_collectors": {
        "ru": "Счета-сборщики (дропы)",
        "kk": "Жинаушы шоттар (дроптар)",
        "en": "Collecting mules",
    },
    "money_col_balances": {
        "ru": "SIM-балансы и кошельки",
        "kk": "SIM баланстары мен әмияндар",
        "en": "SIM balances, e-wallets",
    },
    "money_col_crypto": {"ru": "Криптоадреса", "kk": "Криптомекенжайлар", "en": "Crypto addresses"},
    "money_other": {"ru": "ещё счетов: {n}", "kk": "тағы {n} шот", "en": "{n} other accounts"},
    "money_other_some": {"ru": "другие счета", "kk": "басқа шоттар", "en": "other accounts"},
    "money_unknown": {"ru": "сумма неизвестна", "kk": "сомасы белгісіз", "en": "amount not known"},
    "money_farm": {"ru": "ферма {farm}", "kk": "ферма {farm}", "en": "farm {farm}"},
    "money_desc": {
        "ru": "Жертв, заплативших мошенникам: {victims}; потеряно {lost}, из них можно было "
        "предотвратить {preventable}.",
        "kk": "Алаяқтарға төлеген жәбірленушілер: {victims}; жоғалтылғаны {lost}, оның ішінде "
        "алдын алуға болатыны {preventable}.",
        "en": "{victims} victims paid the fraudsters {lost}; {preventable} of it was preventable.",
    },
    "money_lost": {"ru": "Потеряно", "kk": "Жоғалтылды", "en": "Lost"},
    "money_preventable": {
        "ru": "Можно было предотвратить",
        "kk": "Алдын алуға болатын",
        "en": "Preventable",
    },
    "money_preventable_def": {
        "ru": "Предотвратимо — то, что жертва заплатила после первого помеченного звонка "
        "кампании ей: перехвати мы тот звонок, кампания не дошла бы до денег.",
        "kk": "Алдын алуға болатыны — жәбірленуші науқанның өзіне жасаған алғашқы белгіленген "
        "қоңырауынан кейін төлеген ақша: сол қоңырау ұсталса, науқан ақшаға жетпес еді.",
        "en": "Preventable: what a victim paid after the campaign's first flagged call to them. "
        "Had that call been intercepted, the campaign would have been cut off before the "
        "money moved.",
    },
    "money_folded": {
        "ru": "В каждом столбце — {top} крупнейших счетов, остальные сложены в «ещё счетов».",
        "kk": "Әр бағанда ең ірі {top} шот, қалғандары «тағы … шот» болып қосылған.",
        "en": "Each column shows its {top} largest accounts; the rest are added up as "
        "“other accounts”.",
    },
    "money_left_out": {
        "ru": "Кампании в другой валюте сюда не сложены: {campaigns}.",
        "kk": "Басқа валютадағы науқандар мұнда қосылмаған: {campaigns}.",
        "en": "Campaigns paid in another currency are not added up here: {campaigns}.",
    },
    "money_table_caption": {
        "ru": "Переводы по шагам",
        "kk": "Қадамдар бойынша аударымдар",
        "en": "Transfers step by step",
    },
    "money_from": {"ru": "Откуда", "kk": "Қайдан", "en": "From"},
    "money_to": {"ru": "Куда", "kk": "Қайда", "en": "To"},
    "money_amount": {"ru": "Сумма", "kk": "Сома", "en": "Amount"},
    "money_lost_total": {
        "ru": "Потеряно жертвами кампаний",
        "kk": "Науқандар жәбірленушілері жоғалтқаны",
        "en": "Lost to campaigns",
    },
    "money_preventable_total": {
        "ru": "Из них можно было предотвратить",
        "kk": "Оның ішінде алдын алуға болатыны",
        "en": "Of it, preventable",
    },
    "money_top_campaigns": {
        "ru": "Кампании с наибольшими потерями",
        "kk": "Ең көп шығын келтірген науқандар",
        "en": "Campaigns that took most",
    },
    "money_campaign": {"ru": "Кампания", "kk": "Науқан", "en": "Campaign"},
    "money_victims": {"ru": "Жертв", "kk": "Жәбірленушілер", "en": "Victims"},
}


def translate(language: str, key: str, **values: object) -> str:
    """The message in ``language``; English if the language is unknown; the key if the message is."""
    entry = MESSAGES.get(key)
    if entry is None:
        return key
    text = entry.get(language) or entry["en"]
    return text.format(**values) if values else text


def words(language: str, prefix: str, value: str) -> str:
    """A value the library returns (a status, an action, a rule family) in words.

    Known values have catalogue entries (``st_open``, ``act_claimed``); an
    unknown one is shown as it is, with spaces, rather than as a broken key.
    """
    key = prefix + value
    return translate(language, key) if key in MESSAGES else value.replace("_", " ")
