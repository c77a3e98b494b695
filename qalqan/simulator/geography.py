"""The country the simulator plays: Kazakhstan's cities, numbering plan and neighbours.

Figures are rounded public facts (city centres, populations in thousands,
mobile ranges). The country has one time zone, UTC+5, since March 2024.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "CITIES",
    "COUNTRY",
    "FOREIGN_MOBILE",
    "HOME_PREFIXES",
    "LOCAL_UTC_OFFSET_H",
    "OTHER_OPERATORS",
    "ROAMING_DESTINATIONS",
    "City",
]

COUNTRY = "KZ"
LOCAL_UTC_OFFSET_H = 5


@dataclass(frozen=True, slots=True)
class City:
    name: str
    region: str
    lat: float
    lon: float
    population_k: int
    fixed_area: int
    """Fixed-line area code after +7 (727 for Almaty)."""


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

#: Mobile ranges (+7 7xx) of the simulated operator and of two domestic competitors.
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
