"""The data-set errors cross a process boundary whole: type, message and what they carry."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from qalqan.errors import (
    DataSetError,
    MissingColumnError,
    MissingTableError,
    RowError,
    UnreadableFileError,
)

ERRORS = [
    MissingTableError("cells", Path("/data/op"), required=False),
    MissingTableError("cdrs", Path("/data/op")),
    UnreadableFileError(Path("/data/op/payments.csv"), "reading stopped at line 9: too long"),
    MissingColumnError(Path("/data/op/payments.csv"), "payments", ["amount", "currency"]),
    RowError("cdrs", "cdrs.csv", 12, "duration_s is no number"),
]


@pytest.mark.parametrize("error", ERRORS, ids=lambda e: type(e).__name__)
def test_an_error_pickles_to_the_same_type_message_and_fields(error: Exception) -> None:
    back = pickle.loads(pickle.dumps(error))
    assert type(back) is type(error)
    assert str(back) == str(error)
    if isinstance(error, DataSetError):
        assert vars(back) == vars(error)
        assert back.args == error.args
    else:
        assert back == error
