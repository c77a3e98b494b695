"""Content checks: scam texts and schemes, protected brands and persons, lookalike domains, media."""
