"""The ``qalqan`` command: a thin adapter over the library."""
