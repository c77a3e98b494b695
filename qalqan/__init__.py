"""Qalqan ("shield"): an open platform against telephone fraud.

It screens calls in the operator's call path, finds SIM boxes and SIM farms in
call records, catches spoofed caller IDs, groups fraud calls into the call
centers behind them and gives the anti-call-center's operators their console.
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
