"""The real-time screening engine: decides allow, warn, divert or block for a call attempt."""
