"""The case store of the anti-call-center: alerts, cases, episodes, actions, audit log."""
