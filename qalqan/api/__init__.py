"""HTTP screening API, health and metrics."""
