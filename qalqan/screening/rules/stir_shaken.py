"""STIR/SHAKEN: what the call's signed Identity header says, as one signal among others.

When a call carries an Identity header (RFC 8224) and the engine was given a
verifier (``qalqan.screening.stir.IdentityVerifier``), the verification result
weighs in: a header that fails verification adds suspicion, a gateway
attestation (``C``: the carrier only knows where the call entered) adds a
little, a full attestation (``A``) lends some trust. It never decides alone:
the signal is *supporting only*, so a call with nothing else against it is
not stopped for its header, and the mitigation is small enough that real
evidence of spoofing still wins.

Where the operator's own network verified the header already (the SBC's
``P-Attestation-Indicator`` or ``verstat``, the CDR's ``identity_attest``), the
call comes with that attestation (``CallAttempt.attest``) and no header to
verify, or none this engine can: the attestation then weighs as a verified
header's would (``A`` lends some trust, ``C`` adds a little), with its own
reason saying it was verified upstream. A header the engine can verify itself
is always verified: its result wins over what upstream said.

The verifier module is imported lazily (:func:`default_verifier`) and may be
absent: the engine then simply has no STIR/SHAKEN signal.
"""

from __future__ import annotations

import importlib
from typing import Any

from qalqan.domain.model import CallAttempt, Reason
from qalqan.screening.signals import (
    FROM_OUTSIDE,
    Context,
    Environment,
    IdentityVerifying,
    Rule,
    Setting,
    Settings,
    register,
)

__all__ = ["IdentityHeader", "default_verifier"]


def default_verifier(**options: Any) -> IdentityVerifying | None:
    """``qalqan.screening.stir.IdentityVerifier(**options)``, or None when that module is absent."""
    try:
        module = importlib.import_module("qalqan.screening.stir")
    except ImportError:
        return None
    factory = getattr(module, "IdentityVerifier", None)
    if factory is None:
        return None
    verifier: IdentityVerifying = factory(**options)
    return verifier


@register
class IdentityHeader(Rule):
    """The STIR/SHAKEN verification of the call's Identity header; supporting evidence only.

    ``weight`` applies when the header fails verification. A call whose header the
    operator's network verified already (``CallAttempt.attest``) and that brings none
    this engine can verify weighs its attestation the same way.
    """

    id = "stir_shaken.identity"
    applies_to = FROM_OUTSIDE
    supporting_only = True
    default_weight = 0.4
    messages = (
        "stir_shaken.identity.failed",
        "stir_shaken.identity.full",
        "stir_shaken.identity.gateway",
        "stir_shaken.identity.upstream.full",
        "stir_shaken.identity.upstream.gateway",
    )
    settings = (
        Setting(
            name="gateway_weight",
            kind="float",
            default=0.15,
            minimum=0.0,
            maximum=1.0,
            help="Weight of a valid header with gateway attestation (C).",
        ),
        Setting(
            name="full_attestation_weight",
            kind="float",
            default=-0.3,
            minimum=-1.0,
            maximum=0.0,
            help="Weight of a valid header with full attestation (A): some trust, never enough to "
            "outweigh proof of spoofing.",
        ),
    )

    def __init__(self, settings: Settings, env: Environment) -> None:
        super().__init__(settings, env)
        self.gateway_weight = settings.number("gateway_weight")
        self.full_weight = settings.number("full_attestation_weight")

    def evaluate(self, attempt: CallAttempt, context: Context) -> Reason | None:
        verifier = self.env.verifier
        header = attempt.identity
        if verifier is None or not header:
            return self._upstream(attempt.attest)
        check = verifier.verify(
            header, caller=attempt.caller, callee=attempt.callee, now=attempt.time
        )
        if not check.valid:
            return self.say("stir_shaken.identity.failed", failure=check.reason)
        if check.attestation == "A":
            return self.say("stir_shaken.identity.full", weight=self.full_weight)
        if check.attestation == "C" and self.gateway_weight > 0:
            return self.say("stir_shaken.identity.gateway", weight=self.gateway_weight)
        return None

    def _upstream(self, attest: str | None) -> Reason | None:
        """The attestation the operator's network gave a header it verified itself."""
        if attest == "A":
            return self.say("stir_shaken.identity.upstream.full", weight=self.full_weight)
        if attest == "C" and self.gateway_weight > 0:
            return self.say("stir_shaken.identity.upstream.gateway", weight=self.gateway_weight)
        return None
