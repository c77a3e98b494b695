"""Research code kept beside Qalqan, not shipped in it: evaluation on real data and its tools.

- :mod:`research.sichuan`: the Sichuan telecom-fraud data set (real numbers, features, labels).
- :mod:`research.cross_validation`: honest, grouped cross-validation and reliability tables.
- :mod:`research.similarity_graph`: graph features and communities for grouped splits.

The benchmarks (``benchmarks/sichuan_fraud.py``, ``held_out.py``, ``leave_one_out.py``)
and the tests import it from the repository root; nothing in ``qalqan`` does.
"""
