"""The countries the simulator can play: cities, numbering plan, time zone and neighbours.

Kazakhstan (the default: one time zone, UTC+5, since March 2024) and
Azerbaijan (+994, UTC+4). Figures are rounded public facts (city centres,
populations in thousands, mobile ranges). A scenario picks one with
``country: AZ``; everything the simulator writes follows it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = [
    "AZ",
    "CITIES",
    "COUNTRIES",
    "FOREIGN_MOBILE",
    "HOME_PREFIXES",
    "KZ",
    "MOBILE_SHAPES",
    "OTHER_OPERATORS",
    "ROAMING_DESTINATIONS",
    "City",
    "Country",
]


@dataclass(frozen=True, slots=True)
class City:
    name: str
    region: str
    lat: float
    lon: float
    population_k: int
    fixed_area: int
    """Fixed-line area code after the calling code (727 for Almaty, 12 for Baku)."""


#: Kazakhstan's cities (the other countries' are in their :class:`Country`).
CITIES: tuple[City, ...] = (
    City("Almaty", "Almaty city", 43.238, 76.946, 2200, 727),
    City("Astana", "Astana city", 51.169, 71.449, 1350, 717),
    City("Shymkent", "Shymkent city", 42.342, 69.590, 1200, 725),
    City("Karaganda", "Karaganda", 49.806, 73.085, 500, 721),
    City("Aktobe", "Aktobe", 50.283, 57.167, 560, 713),
    City("Taraz", "Zhambyl", 42.900, 71.367, 430, 726),
    City("Pavlodar", "Pavlodar", 52.287, 76.967, 360, 718),
    City("Oskemen", "East Kazakhstan", 49.948, 82.628, 330, 723),
    City("Semey", "Abai", 50.411, 80.227, 350, 722),
    City("Atyrau", "Atyrau", 47.117, 51.883, 300, 712),
    City("Kostanay", "Kostanay", 53.214, 63.625, 250, 714),
    City("Kyzylorda", "Kyzylorda", 44.853, 65.509, 330, 724),
    City("Oral", "West Kazakhstan", 51.233, 51.367, 330, 711),
    City("Petropavl", "North Kazakhstan", 54.867, 69.150, 220, 715),
    City("Aktau", "Mangystau", 43.650, 51.160, 270, 729),
    City("Turkistan", "Turkistan", 43.297, 68.251, 200, 725),
    City("Taldykorgan", "Zhetisu", 45.017, 78.373, 150, 728),
    City("Kokshetau", "Akmola", 53.283, 69.383, 150, 716),
)

#: Kazakhstan: mobile ranges (+7 7xx) of the simulated operator and of two domestic competitors.
HOME_PREFIXES: tuple[int, ...] = (700, 707, 708, 747)
OTHER_OPERATORS: dict[str, tuple[int, ...]] = {
    "opB": (701, 702, 775, 778),
    "opC": (705, 771, 776, 777),
}

#: Where subscribers travel, with weights; (ISO alpha-2, weight).
ROAMING_DESTINATIONS: tuple[tuple[str, float], ...] = (
    ("TR", 0.25), ("AE", 0.15), ("RU", 0.15), ("UZ", 0.10), ("KG", 0.08), ("CN", 0.07),
    ("TH", 0.06), ("GE", 0.05), ("DE", 0.03), ("KR", 0.03), ("EG", 0.03),
)  # fmt: skip

#: Foreign mobile number shapes: ISO country, calling code, national prefixes, national digits.
FOREIGN_MOBILE: dict[str, tuple[int, tuple[int, ...], int]] = {
    "RU": (7, (903, 905, 909, 915, 916, 925, 926, 985), 10),
    "UZ": (998, (90, 91, 93, 94, 97, 99), 9),
    "KG": (996, (555, 700, 770, 550), 9),
    "TR": (90, (530, 532, 535, 541, 542, 505), 10),
    "DE": (49, (151, 160, 170, 176), 11),
    "AE": (971, (50, 52, 55, 56), 9),
    "CN": (86, (138, 139, 150, 186), 11),
    "KR": (82, (10,), 10),
    "TH": (66, (81, 86, 89), 9),
    "GE": (995, (555, 557, 568, 599), 9),
    "EG": (20, (10, 11, 12), 10),
    "UA": (380, (50, 63, 67, 93), 9),
    "PL": (48, (501, 601, 691), 9),
    "KH": (855, (12, 17, 92), 8),
    "US": (1, (2125, 3105, 4155), 10),
}

#: Mobile number shapes of every country the simulator knows, home countries included.
MOBILE_SHAPES: dict[str, tuple[int, tuple[int, ...], int]] = {
    **FOREIGN_MOBILE,
    "KZ": (7, (700, 701, 702, 705, 707, 747, 771, 775, 777, 778), 10),
    "AZ": (994, (10, 50, 51, 55, 60, 70, 77, 99), 9),
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Country:
    """One country's numbering plan, clock, cities and the operator's identifiers there."""

    iso: str
    calling_code: int
    national_digits: int
    """Digits after the calling code: 10 in Kazakhstan, 9 in Azerbaijan."""
    utc_offset_h: float
    cities: tuple[City, ...]
    home_prefixes: tuple[int, ...]
    """Mobile ranges of the simulated operator (the digits before a 7-digit line)."""
    other_operators: dict[str, tuple[int, ...]]
    unallocated_prefixes: tuple[int, ...]
    """Mobile-looking ranges nobody holds (spoofers present them)."""
    imsi_prefix: int
    """MCC and MNC: five digits before a 10-digit serial."""
    iccid_prefix: int
    """89, the country calling code and the issuer: seven digits before an 11-digit serial."""
    currency: str
    iban_country: str
    state_numbers: tuple[tuple[int, str, str], ...]
    """Numbers of bodies that never call out: (number, owner, scam category)."""
    bank_hotline_base: int
    bank_outbound_base: int
    m2m_centre: int
    abroad: tuple[tuple[str, float], ...]
    """Where subscribers' contacts abroad live, with weights (keys of MOBILE_SHAPES)."""

    @property
    def prefix_digits(self) -> int:
        return self.national_digits - 7

    def mobile(self, prefix: npt.ArrayLike, line: npt.ArrayLike) -> npt.NDArray[np.int64]:
        """``+CC PP LLLLLLL`` as int64 digits."""
        base = np.int64(self.calling_code) * np.int64(10) ** self.national_digits
        return base + np.asarray(prefix, dtype=np.int64) * 10_000_000 + np.asarray(line)

    def prefix_of(self, numbers: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        """The range (operator prefix) of national numbers of this country."""
        return (numbers // 10_000_000) % 10**self.prefix_digits


KZ = Country(
    iso="KZ", calling_code=7, national_digits=10, utc_offset_h=5.0,  # one time zone since March 2024
    cities=CITIES, home_prefixes=HOME_PREFIXES, other_operators=OTHER_OPERATORS,
    unallocated_prefixes=(799, 790, 730), imsi_prefix=40177, iccid_prefix=8999777,
    currency="KZT", iban_country="KZ",
    state_numbers=(
        (77272544000, "Almaty city police", "police"),
        (77172715500, "Astana city police", "police"),
        (77172557700, "eGov contact center", "egov"),
        (77272707000, "National Bank, hotline", "bank_security"),
        (77007000000, "Operator customer service", "operator"),
    ),
    bank_hotline_base=77273000000, bank_outbound_base=77273500000, m2m_centre=77273501111,
    abroad=(
        ("RU", 6), ("UZ", 3), ("KG", 2), ("TR", 2), ("DE", 1), ("AE", 1), ("CN", 1), ("KR", 1),
        ("TH", 1), ("GE", 1), ("EG", 1), ("UA", 1), ("PL", 1), ("KH", 0.2), ("US", 0.5),
    ),
)  # fmt: skip

AZ = Country(
    iso="AZ", calling_code=994, national_digits=9, utc_offset_h=4.0,
    cities=(
        City("Baku", "Baku", 40.409, 49.867, 2300, 12),
        City("Sumqayit", "Sumqayit", 40.589, 49.669, 350, 18),
        City("Ganja", "Ganja", 40.683, 46.361, 335, 22),
        City("Mingachevir", "Mingachevir", 40.770, 47.049, 105, 24),
        City("Lankaran", "Lankaran", 38.754, 48.851, 90, 25),
        City("Shirvan", "Shirvan", 39.932, 48.929, 90, 21),
        City("Nakhchivan", "Nakhchivan", 39.209, 45.412, 95, 36),
        City("Shaki", "Shaki", 41.192, 47.170, 70, 24),
        City("Yevlakh", "Yevlakh", 40.618, 47.150, 65, 22),
        City("Quba", "Quba", 41.361, 48.513, 50, 23),
    ),
    home_prefixes=(50, 51, 10), other_operators={"opB": (55, 99), "opC": (70, 77)},
    unallocated_prefixes=(53, 56, 58), imsi_prefix=40001, iccid_prefix=8999401,
    currency="AZN", iban_country="AZ",
    state_numbers=(
        (994124920000, "Baku city police", "police"),
        (994124921102, "Ministry of Internal Affairs, hotline", "police"),
        (994125980000, "ASAN service contact center", "egov"),
        (994124931122, "Central Bank, hotline", "bank_security"),
        (994125555555, "Operator customer service", "operator"),
    ),
    bank_hotline_base=994124000000, bank_outbound_base=994124500000, m2m_centre=994124501111,
    abroad=(
        ("RU", 6), ("TR", 4), ("GE", 2), ("UA", 1), ("DE", 1), ("KZ", 1), ("UZ", 0.5),
        ("AE", 1), ("US", 0.5),
    ),
)  # fmt: skip

COUNTRIES: dict[str, Country] = {"KZ": KZ, "AZ": AZ}
