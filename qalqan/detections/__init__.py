"""Detections defined once, for the batch analysis and the real-time screening engine alike.

A detection here is its settings and its test, said in one place: the screening
rule evaluates it call by call from its rolling state, and ``qalqan analyze``
evaluates it in SQL over the same window, counting for each call only what was
known at that call's time, so that what the analysis finds afterwards the
engine catches live as soon as the evidence exists.
"""
