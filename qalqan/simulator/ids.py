"""Identifiers that look and check like the real ones: IMSI, IMEI (with Luhn digit), ICCID, MSISDN.

Every function works on numpy arrays, so a million identifiers cost milliseconds.
Numbers are kept as int64 digits until the table is written.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["luhn_append", "unique_serials"]

I64 = npt.NDArray[np.int64]


def luhn_append(body: I64, digits: int) -> I64:
    """Append the Luhn check digit to each ``digits``-long number in ``body`` (IMEI, ICCID)."""
    total = np.zeros(body.shape, dtype=np.int64)
    rest = body.copy()
    for position in range(digits):  # from the rightmost digit leftwards
        d = rest % 10
        rest //= 10
        if position % 2 == 0:  # doubled: the rightmost body digit sits next to the check digit
            d = d * 2
            d = np.where(d > 9, d - 9, d)
        total += d
    check = (10 - total % 10) % 10
    return body * 10 + check


def unique_serials(rng: np.random.Generator, count: int, low: int, high: int) -> I64:
    """``count`` distinct random integers in [low, high), in random order."""
    span = high - low
    if count > span:
        raise ValueError(f"cannot draw {count} distinct serials from a range of {span}")
    if span <= 4 * count:
        return low + rng.permutation(span)[:count].astype(np.int64)
    drawn = np.unique(rng.integers(low, high, size=int(count * 1.1) + 16, dtype=np.int64))
    while drawn.size < count:
        extra = rng.integers(low, high, size=count, dtype=np.int64)
        drawn = np.unique(np.concatenate([drawn, extra]))
    return rng.permutation(drawn)[:count]
