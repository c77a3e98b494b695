"""STIR/SHAKEN verification with a real PKI made here: a test STI-CA root, an intermediate, SP certificates.

Every PASSporT is signed with PyJWT by keys these tests generate; nothing is
fetched. The failures are the ones an operator meets: altered or forged
PASSporTs, expired and untrusted certificates, replays, numbers that do not
match the call, gaps in the certificate cache, and garbage.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qalqan.domain.model import CallAttempt, Ingress
from qalqan.errors import ConfigError
from qalqan.screening.stir import (
    TN_AUTH_LIST_OID,
    FolderCertificateCache,
    IdentityCheck,
    IdentityCode,
    IdentityVerifier,
    StirSettings,
    load_certificates,
)

NOW = datetime(2026, 3, 2, 7, 15, 2, tzinfo=UTC)
URL = "https://cr.sti.example/certs/sp1234.pem"
CALLER = "+77011234567"
CALLEE = "+77071234567"
DOCS = Path(__file__).resolve().parents[2] / "docs"

AnyKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "KZ"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Qalqan test PKI"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _tn_auth_list(spc: str) -> x509.UnrecognizedExtension:
    """RFC 8226 TNAuthList with one SPC: SEQUENCE { [0] EXPLICIT IA5String spc }."""
    ia5 = b"\x16" + bytes([len(spc)]) + spc.encode()
    entry = b"\xa0" + bytes([len(ia5)]) + ia5
    return x509.UnrecognizedExtension(TN_AUTH_LIST_OID, b"\x30" + bytes([len(entry)]) + entry)


def certificate(
    subject: str,
    key: AnyKey,
    *,
    issuer: str | None = None,
    issuer_key: AnyKey | None = None,
    ca: bool = False,
    tn_auth_list: bool = True,
    not_before: datetime = NOW - timedelta(days=30),
    not_after: datetime = NOW + timedelta(days=365),
) -> x509.Certificate:
    issuer_key = issuer_key or key
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer or subject))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=not ca,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=ca,
                crl_sign=ca,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if issuer_key is not key:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
            critical=False,
        )
    if tn_auth_list and not ca:
        builder = builder.add_extension(_tn_auth_list("1234"), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def pem(*certs: x509.Certificate) -> bytes:
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)


def p256() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@dataclass
class Pki:
    root: x509.Certificate
    root_key: ec.EllipticCurvePrivateKey
    intermediate: x509.Certificate
    intermediate_key: ec.EllipticCurvePrivateKey
    sp: x509.Certificate
    sp_key: ec.EllipticCurvePrivateKey

    def sp_certificate(self, **options: Any) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
        key = p256()
        cert = certificate(
            options.pop("subject", "SP 1234"),
            key,
            issuer="Test STI-CA Intermediate",
            issuer_key=self.intermediate_key,
            **options,
        )
        return cert, key


def make_pki() -> Pki:
    """A test STI-CA root, an intermediate under it, and an SP certificate under that."""
    root_key, intermediate_key, sp_key = p256(), p256(), p256()
    root = certificate(
        "Test STI-CA Root",
        root_key,
        ca=True,
        not_before=NOW - timedelta(days=3650),
        not_after=NOW + timedelta(days=3650),
    )
    intermediate = certificate(
        "Test STI-CA Intermediate",
        intermediate_key,
        issuer="Test STI-CA Root",
        issuer_key=root_key,
        ca=True,
        not_before=NOW - timedelta(days=365),
        not_after=NOW + timedelta(days=1825),
    )
    sp = certificate(
        "SP 1234", sp_key, issuer="Test STI-CA Intermediate", issuer_key=intermediate_key
    )
    return Pki(root, root_key, intermediate, intermediate_key, sp, sp_key)


@pytest.fixture(scope="module")
def pki() -> Pki:
    return make_pki()


@pytest.fixture
def verifier(pki: Pki) -> IdentityVerifier:
    return IdentityVerifier(
        trust_anchors=[pki.root], certificates={URL: pem(pki.sp, pki.intermediate)}
    )


def passport(
    key: AnyKey,
    *,
    attest: str | None = "A",
    orig: str = "77011234567",
    dest: str | list[str] = "77071234567",
    iat: float | None = None,
    origid: str | None = "123e4567-e89b-12d3-a456-426655440000",
    x5u: str = URL,
    ppt: str | None = "shaken",
    alg: str = "ES256",
    extra_claims: dict[str, Any] | None = None,
) -> str:
    """A PASSporT token (full form) signed by ``key``."""
    claims: dict[str, Any] = {
        "dest": {"tn": dest if isinstance(dest, list) else [dest]},
        "iat": int(NOW.timestamp()) if iat is None else iat,
        "orig": {"tn": orig},
    }
    if attest is not None:
        claims["attest"] = attest
    if origid is not None:
        claims["origid"] = origid
    claims.update(extra_claims or {})
    headers: dict[str, Any] = {"typ": "passport", "x5u": x5u}
    if ppt is not None:
        headers["ppt"] = ppt
    return jwt.encode(claims, key, algorithm=alg, headers=headers)


def identity(token: str, *, info: str = URL, params: str = ";alg=ES256;ppt=shaken") -> str:
    return f"{token};info=<{info}>{params}"


def b64(data: dict[str, Any]) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def check(verifier: IdentityVerifier, header: str, **call: Any) -> IdentityCheck:
    arguments: dict[str, Any] = {"caller": CALLER, "callee": CALLEE, "now": NOW}
    arguments.update(call)
    return verifier.verify(header, **arguments)


def assert_fails(result: IdentityCheck, code: IdentityCode, reason: str) -> None:
    assert not result.valid, result
    assert result.code is code, result
    assert reason in result.reason, result.reason
    assert result.attestation is None and result.origid is None


# --- valid PASSporTs -------------------------------------------------------------------------


@pytest.mark.parametrize("attest", ["A", "B", "C"])
def test_a_signed_shaken_passport_verifies_with_its_attestation(
    verifier: IdentityVerifier, pki: Pki, attest: str
) -> None:
    result = check(verifier, identity(passport(pki.sp_key, attest=attest)))
    assert result.valid, result.reason
    assert result.attestation == attest
    assert result.origid == "123e4567-e89b-12d3-a456-426655440000"
    assert result.code is None
    assert result.signer is not None and "SP 1234" in result.signer
    assert result.reason.startswith(f"verified: attestation {attest}")


def test_numbers_match_as_digits_whatever_their_shape(verifier: IdentityVerifier, pki: Pki) -> None:
    token = passport(pki.sp_key, orig="+7 701 123-45-67", dest=["77770000000", "+77071234567"])
    assert check(verifier, identity(token)).valid


def test_the_header_name_and_unquoted_or_quoted_parameters_are_accepted(
    verifier: IdentityVerifier, pki: Pki
) -> None:
    token = passport(pki.sp_key)
    for header in (
        f"Identity: {token};info=<{URL}>;alg=ES256;ppt=shaken",
        f'y: {token} ; info=<{URL}> ; ppt="shaken"',
        f"{token};info=<{URL}>",
    ):
        assert check(verifier, header).valid, header


def test_a_shaken_value_wins_among_several_identity_values(
    verifier: IdentityVerifier, pki: Pki
) -> None:
    div = passport(pki.sp_key, ppt="div")
    shaken = passport(pki.sp_key, attest="B")
    result = check(verifier, f"{identity(div, params=';ppt=div')}, {identity(shaken)}")
    assert result.valid and result.attestation == "B"
    five = ", ".join([identity(shaken)] * 5)
    assert_fails(check(verifier, five), IdentityCode.MALFORMED, "5 Identity values (limit 4)")


def test_a_naive_call_time_is_read_as_utc(verifier: IdentityVerifier, pki: Pki) -> None:
    result = check(verifier, identity(passport(pki.sp_key)), now=NOW.replace(tzinfo=None))
    assert result.valid


def test_verify_attempt_reads_the_call_attempt(verifier: IdentityVerifier, pki: Pki) -> None:
    attempt = CallAttempt(
        time=NOW,
        caller=CALLER,
        callee=CALLEE,
        ingress=Ingress.parse("international:carrierA"),
        identity=identity(passport(pki.sp_key, attest="C")),
    )
    result = verifier.verify_attempt(attempt)
    assert result is not None and result.valid and result.attestation == "C"
    bare = CallAttempt(time=NOW, caller=CALLER, callee=CALLEE, ingress=Ingress.parse("mobile"))
    assert verifier.verify_attempt(bare) is None


# --- the compact form (RFC 8225 §7) ----------------------------------------------------------


def compact(token: str) -> str:
    head, _, signature = token.split(".")
    return f"{head}..{signature}"


def canonical_passport(key: ec.EllipticCurvePrivateKey, *, signed_at: datetime) -> str:
    """A basic PASSporT whose payload is canonical JSON, as a compact form must be rebuilt."""
    header = b64({"alg": "ES256", "typ": "passport", "x5u": URL})
    claims = {
        "dest": {"tn": ["77071234567"]},
        "iat": int(signed_at.timestamp()),
        "orig": {"tn": "77011234567"},
    }
    payload = b64(claims)
    signing_input = f"{header}.{payload}".encode()
    algorithm = jwt.get_algorithm_by_name("ES256")
    signature = base64.urlsafe_b64encode(algorithm.sign(signing_input, key)).rstrip(b"=").decode()
    return f"{header}.{payload}.{signature}"


def test_a_compact_passport_is_rebuilt_from_the_call_and_verified(
    verifier: IdentityVerifier, pki: Pki
) -> None:
    signed_at = NOW - timedelta(seconds=3)
    header = identity(compact(canonical_passport(pki.sp_key, signed_at=signed_at)), params="")
    result = check(verifier, header, signed_at=signed_at)
    assert result.valid, result.reason
    assert result.attestation is None
    assert "without SHAKEN attestation" in result.reason


def test_a_compact_passport_fails_for_another_caller_or_without_a_date(
    verifier: IdentityVerifier, pki: Pki
) -> None:
    signed_at = NOW - timedelta(seconds=3)
    header = identity(compact(canonical_passport(pki.sp_key, signed_at=signed_at)), params="")
    assert_fails(
        check(verifier, header, signed_at=signed_at, caller="+77019999999"),
        IdentityCode.BAD_SIGNATURE,
        "signature does not match the certificate",
    )
    assert_fails(check(verifier, header), IdentityCode.BAD_CLAIMS, "needs the SIP Date header")
    assert_fails(
        check(verifier, header, signed_at=NOW - timedelta(minutes=5)),
        IdentityCode.STALE,
        "PASSporT is 300 s old (limit 60 s)",
    )


def test_a_compact_shaken_passport_is_refused(verifier: IdentityVerifier, pki: Pki) -> None:
    header = identity(compact(passport(pki.sp_key)))
    assert_fails(
        check(verifier, header, signed_at=NOW), IdentityCode.UNSUPPORTED, "needs the full form"
    )


# --- altered and forged PASSporTs ------------------------------------------------------------


def test_a_tampered_payload_breaks_the_signature(verifier: IdentityVerifier, pki: Pki) -> None:
    head, payload, signature = passport(pki.sp_key, attest="C").split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["attest"] = "A"
    tampered = f"{head}.{b64(claims)}.{signature}"
    assert_fails(
        check(verifier, identity(tampered)),
        IdentityCode.BAD_SIGNATURE,
        "signature does not match the certificate",
    )


def test_a_passport_signed_with_another_key_fails(verifier: IdentityVerifier) -> None:
    assert_fails(
        check(verifier, identity(passport(p256()))),
        IdentityCode.BAD_SIGNATURE,
        "signature does not match the certificate",
    )


def test_other_algorithms_are_refused(verifier: IdentityVerifier, pki: Pki) -> None:
    unsigned = f"{b64({'alg': 'none', 'typ': 'passport', 'ppt': 'shaken', 'x5u': URL})}.{b64({'attest': 'A'})}.AA"
    assert_fails(check(verifier, identity(unsigned)), IdentityCode.UNSUPPORTED, "not ES256")
    # The classic confusion: HMAC keyed with the public certificate.
    head = b64({"alg": "HS256", "typ": "passport", "ppt": "shaken", "x5u": URL})
    body = b64({"attest": "A", "orig": {"tn": "77011234567"}, "dest": {"tn": ["77071234567"]}})
    mac = hmac.new(pem(pki.sp), f"{head}.{body}".encode(), hashlib.sha256).digest()
    forged = f"{head}.{body}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"
    assert_fails(check(verifier, identity(forged)), IdentityCode.UNSUPPORTED, "HS256, not ES256")
    assert_fails(
        check(verifier, identity(passport(pki.sp_key), params=";alg=RS256")),
        IdentityCode.MALFORMED,
        "alg=RS256 does not match",
    )


# --- certificates ----------------------------------------------------------------------------


def test_an_expired_certificate_fails(pki: Pki) -> None:
    sp, key = pki.sp_certificate(
        not_before=NOW - timedelta(days=400), not_after=NOW - timedelta(days=35)
    )
    verifier = IdentityVerifier(
        trust_anchors=[pki.root], certificates={URL: pem(sp, pki.intermediate)}
    )
    result = check(verifier, identity(passport(key)))
    assert_fails(result, IdentityCode.CERTIFICATE_EXPIRED, "expired on")
    assert "call at 2026-03-02 07:15 UTC" in result.reason


def test_a_certificate_not_yet_valid_fails(pki: Pki) -> None:
    sp, key = pki.sp_certificate(not_before=NOW + timedelta(days=1))
    verifier = IdentityVerifier(
        trust_anchors=[pki.root], certificates={URL: pem(sp, pki.intermediate)}
    )
    assert_fails(
        check(verifier, identity(passport(key))),
        IdentityCode.CERTIFICATE_EXPIRED,
        "is not valid before 2026-03-03",
    )


def test_an_expired_trust_anchor_is_named(pki: Pki) -> None:
    old_root = certificate(
        "Test STI-CA Root",
        pki.root_key,
        ca=True,
        not_before=NOW - timedelta(days=3650),
        not_after=NOW - timedelta(days=1),
    )
    verifier = IdentityVerifier(
        trust_anchors=[old_root], certificates={URL: pem(pki.sp, pki.intermediate)}
    )
    assert_fails(
        check(verifier, identity(passport(pki.sp_key))),
        IdentityCode.CERTIFICATE_EXPIRED,
        "trusted STI-CA",
    )


def test_a_chain_from_an_untrusted_root_fails(pki: Pki) -> None:
    rogue_root_key, rogue_intermediate_key, sp_key = p256(), p256(), p256()
    rogue_intermediate = certificate(
        "Rogue Intermediate",
        rogue_intermediate_key,
        issuer="Rogue Root",
        issuer_key=rogue_root_key,
        ca=True,
    )
    sp = certificate(
        "SP 6666", sp_key, issuer="Rogue Intermediate", issuer_key=rogue_intermediate_key
    )
    verifier = IdentityVerifier(
        trust_anchors=[pki.root], certificates={URL: pem(sp, rogue_intermediate)}
    )
    assert_fails(
        check(verifier, identity(passport(sp_key))),
        IdentityCode.UNTRUSTED,
        "certificate not issued by a trusted STI-CA (issuer CN=Rogue Root,O=Qalqan test PKI,C=KZ: no path to a trust anchor)",
    )


def test_a_root_that_only_borrows_the_trusted_name_fails(pki: Pki) -> None:
    impostor_key, sp_key = p256(), p256()
    impostor_intermediate = certificate(
        "Test STI-CA Intermediate",
        impostor_key,
        issuer="Test STI-CA Root",
        issuer_key=p256(),
        ca=True,
    )
    sp = certificate("SP 1234", sp_key, issuer="Test STI-CA Intermediate", issuer_key=impostor_key)
    verifier = IdentityVerifier(
        trust_anchors=[pki.root], certificates={URL: pem(sp, impostor_intermediate)}
    )
    assert_fails(
        check(verifier, identity(passport(sp_key))),
        IdentityCode.UNTRUSTED,
        "certificate not issued by a trusted STI-CA",
    )


def test_a_chain_without_its_intermediate_fails(pki: Pki) -> None:
    verifier = IdentityVerifier(trust_anchors=[pki.root], certificates={URL: pem(pki.sp)})
    assert_fails(
        check(verifier, identity(passport(pki.sp_key))),
        IdentityCode.UNTRUSTED,
        "no path to a trust anchor",
    )


def test_no_trust_anchors_trusts_nothing(pki: Pki) -> None:
    verifier = IdentityVerifier(trust_anchors=[], certificates={URL: pem(pki.sp, pki.intermediate)})
    assert_fails(
        check(verifier, identity(passport(pki.sp_key))),
        IdentityCode.UNTRUSTED,
        "no trust anchors are configured",
    )


def test_a_ca_certificate_cannot_sign_passports(pki: Pki) -> None:
    verifier = IdentityVerifier(
        trust_anchors=[pki.root],
        certificates={URL: pem(pki.intermediate)},
        require_tn_auth_list=False,
    )
    assert_fails(
        check(verifier, identity(passport(pki.intermediate_key))),
        IdentityCode.UNTRUSTED,
        "the signing certificate is a CA certificate",
    )


def test_sti_certificates_need_tn_auth_list_unless_told_otherwise(pki: Pki) -> None:
    sp, key = pki.sp_certificate(tn_auth_list=False)
    cache = {URL: pem(sp, pki.intermediate)}
    strict = IdentityVerifier(trust_anchors=[pki.root], certificates=cache)
    assert_fails(
        check(strict, identity(passport(key))),
        IdentityCode.BAD_CERTIFICATE,
        "no TNAuthList extension: not an STI certificate",
    )
    lenient = IdentityVerifier(
        trust_anchors=[pki.root], certificates=cache, require_tn_auth_list=False
    )
    assert check(lenient, identity(passport(key))).valid


def test_a_certificate_without_a_p256_key_fails(pki: Pki) -> None:
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    sp = certificate(
        "SP RSA", rsa_key, issuer="Test STI-CA Intermediate", issuer_key=pki.intermediate_key
    )
    verifier = IdentityVerifier(
        trust_anchors=[pki.root], certificates={URL: pem(sp, pki.intermediate)}
    )
    assert_fails(
        check(verifier, identity(passport(pki.sp_key))),
        IdentityCode.BAD_CERTIFICATE,
        "has a RSA key, not EC P-256",
    )


def test_an_x5u_missing_from_the_cache_is_named(verifier: IdentityVerifier, pki: Pki) -> None:
    other = "https://cr.other.example/sp9.pem"
    assert_fails(
        check(verifier, identity(passport(pki.sp_key, x5u=other), info=other)),
        IdentityCode.UNKNOWN_CERTIFICATE,
        f"x5u {other} not in the local certificate cache",
    )


def test_garbage_in_the_cache_is_named(pki: Pki) -> None:
    verifier = IdentityVerifier(trust_anchors=[pki.root], certificates={URL: "not a certificate"})
    assert_fails(
        check(verifier, identity(passport(pki.sp_key))),
        IdentityCode.BAD_CERTIFICATE,
        "holds no readable certificate",
    )


def test_a_broken_cache_is_a_failure_not_an_exception(pki: Pki) -> None:
    class Broken:
        def get(self, url: str, /) -> bytes | None:
            raise OSError("disk on fire")

    verifier = IdentityVerifier(trust_anchors=[pki.root], certificates=Broken())
    assert_fails(
        check(verifier, identity(passport(pki.sp_key))),
        IdentityCode.UNKNOWN_CERTIFICATE,
        "the certificate cache cannot be read (disk on fire)",
    )


def test_verified_chains_are_cached_until_they_change_or_expire(
    pki: Pki, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = {URL: pem(pki.sp, pki.intermediate)}
    verifier = IdentityVerifier(trust_anchors=[pki.root], certificates=cache)
    validations: list[str] = []
    validate = verifier._validate

    def counting(x5u: str, data: bytes, *, now: datetime) -> Any:
        validations.append(x5u)
        return validate(x5u, data, now=now)

    monkeypatch.setattr(verifier, "_validate", counting)
    header = identity(passport(pki.sp_key))
    for _ in range(5):
        assert check(verifier, header).valid
    assert len(validations) == 1
    # The operator replaces the certificate: the new chain is validated.
    sp, key = pki.sp_certificate()
    cache[URL] = pem(sp, pki.intermediate)
    assert check(verifier, identity(passport(key))).valid
    assert len(validations) == 2
    # Past the end of the SP certificate the cached chain is not used.
    later = sp.not_valid_after_utc + timedelta(days=1)
    result = check(verifier, identity(passport(key, iat=later.timestamp())), now=later)
    assert_fails(result, IdentityCode.CERTIFICATE_EXPIRED, "expired on")
    assert len(validations) == 3


def test_the_cache_of_chains_is_bounded(pki: Pki) -> None:
    urls = [f"https://cr.sti.example/{i}.pem" for i in range(5)]
    cache = dict.fromkeys(urls, pem(pki.sp, pki.intermediate))
    verifier = IdentityVerifier(trust_anchors=[pki.root], certificates=cache, cache_size=2)
    for url in urls:
        assert check(verifier, identity(passport(pki.sp_key, x5u=url), info=url)).valid
    assert list(verifier._chains) == urls[-2:]


# --- time ------------------------------------------------------------------------------------


def test_a_stale_passport_fails_with_its_age(verifier: IdentityVerifier, pki: Pki) -> None:
    stale = passport(pki.sp_key, iat=NOW.timestamp() - 312)
    assert_fails(
        check(verifier, identity(stale)), IdentityCode.STALE, "PASSporT is 312 s old (limit 60 s)"
    )


def test_a_passport_from_the_future_fails(verifier: IdentityVerifier, pki: Pki) -> None:
    future = passport(pki.sp_key, iat=NOW.timestamp() + 95)
    assert_fails(
        check(verifier, identity(future)),
        IdentityCode.STALE,
        "PASSporT is dated 95 s in the future (limit 60 s)",
    )


def test_the_age_limit_is_configurable(pki: Pki) -> None:
    verifier = IdentityVerifier(
        trust_anchors=[pki.root],
        certificates={URL: pem(pki.sp, pki.intermediate)},
        max_age_s=600,
    )
    assert check(verifier, identity(passport(pki.sp_key, iat=NOW.timestamp() - 312))).valid
    with pytest.raises(ConfigError, match="max_age_s 0 must be above 0"):
        IdentityVerifier(trust_anchors=[], certificates={}, max_age_s=0)


# --- numbers and claims ----------------------------------------------------------------------


def test_an_orig_that_is_not_the_caller_fails(verifier: IdentityVerifier, pki: Pki) -> None:
    token = passport(pki.sp_key, orig="15551230000", dest="15551110000")
    result = check(verifier, identity(token), caller="+15551239999", callee="+15551110000")
    assert_fails(result, IdentityCode.NUMBER_MISMATCH, "orig 15551230000 ≠ caller +15551239999")


def test_a_dest_without_the_callee_fails(verifier: IdentityVerifier, pki: Pki) -> None:
    result = check(verifier, identity(passport(pki.sp_key)), callee="+77079999999")
    assert_fails(result, IdentityCode.NUMBER_MISMATCH, "dest 77071234567 ≠ callee +77079999999")


def test_a_withheld_caller_cannot_be_matched(verifier: IdentityVerifier, pki: Pki) -> None:
    result = check(verifier, identity(passport(pki.sp_key)), caller=None)
    assert_fails(result, IdentityCode.NUMBER_MISMATCH, "the caller ID is withheld")


@pytest.mark.parametrize(
    ("options", "reason"),
    [
        ({"attest": "D"}, "attestation D is not A, B or C"),
        ({"attest": None}, "attestation null is not A, B or C"),
        ({"origid": None}, "SHAKEN PASSporT has no origid"),
        ({"origid": "  "}, "SHAKEN PASSporT has no origid"),
        ({"orig": "7701abc"}, "orig 7701abc is not a telephone number"),
        ({"dest": []}, "dest tn is not a list of numbers"),
        ({"extra_claims": {"iat": "1772435702"}}, "has no iat"),
        ({"extra_claims": {"iat": 10**400}}, "is not a time"),
        ({"extra_claims": {"orig": {"uri": "sip:a@b"}}}, "orig has no telephone number"),
        ({"extra_claims": {"dest": {"uri": ["sip:a@b"]}}}, "dest has no telephone number"),
    ],
)
def test_bad_claims_are_named(
    verifier: IdentityVerifier, pki: Pki, options: dict[str, Any], reason: str
) -> None:
    result = check(verifier, identity(passport(pki.sp_key, **options)))
    assert not result.valid and reason in result.reason, result.reason


# --- the header ------------------------------------------------------------------------------


def test_info_must_name_the_x5u(verifier: IdentityVerifier, pki: Pki) -> None:
    token = passport(pki.sp_key)
    assert_fails(
        check(verifier, identity(token, info="https://elsewhere.example/c.pem")),
        IdentityCode.MALFORMED,
        "is not the PASSporT's x5u",
    )
    assert_fails(check(verifier, token), IdentityCode.MALFORMED, "has no info=<certificate URL>")


def test_ppt_must_agree_and_be_shaken(verifier: IdentityVerifier, pki: Pki) -> None:
    assert_fails(
        check(verifier, identity(passport(pki.sp_key), params=";ppt=div")),
        IdentityCode.MALFORMED,
        "ppt=div does not match the PASSporT's shaken",
    )
    assert_fails(
        check(verifier, identity(passport(pki.sp_key, ppt="rcd"), params=";ppt=rcd")),
        IdentityCode.UNSUPPORTED,
        "ppt=rcd is not verified (only shaken)",
    )


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        ("", "Identity header is empty"),
        ("abc", "not a PASSporT"),
        ("a.b.c.d;info=<x>", "not a PASSporT"),
        ("!!!.e30.AAAA;info=<x>", "PASSporT header is not base64url"),
        ("e30.e30.A;info=<x>", "PASSporT signature is not base64url"),
        (f"{b64({'typ': 'passport'})[:-1]}x.e30.AAAA", "not JSON"),
        ("WzFd.e30.AAAA;info=<x>", "PASSporT header is not a JSON object"),
        (f"{b64({'typ': 'JWT', 'alg': 'ES256'})}.e30.AAAA;info=<x>", "typ is JWT, not passport"),
        (
            "eyJ0eXAiOiJwYXNzcG9ydCIsInR5cCI6InBhc3Nwb3J0In0.e30.AAAA;info=<x>",
            "'typ' appears twice",
        ),
        (
            f"{b64({'typ': 'passport', 'alg': 'ES256'})}.e30.AAAA;info=<x>",
            "has no x5u certificate URL",
        ),
        ("x" * 9000, "9000 characters long (limit 8192)"),
        (f"{b64({'typ': 'passport'})}.e30.AAAA;info=<a>;info=<b>", "repeats the info parameter"),
        (
            base64.urlsafe_b64encode(b'{"typ": NaN}').rstrip(b"=").decode() + ".e30.AAAA",
            "NaN is not JSON",
        ),
    ],
)
def test_malformed_headers_are_named(verifier: IdentityVerifier, header: str, reason: str) -> None:
    result = check(verifier, header)
    assert not result.valid and result.code is IdentityCode.MALFORMED, result
    assert reason in result.reason, result.reason


def test_a_non_string_header_is_a_failure(verifier: IdentityVerifier) -> None:
    result = verifier.verify(None, caller=CALLER, callee=CALLEE, now=NOW)  # type: ignore[arg-type]
    assert not result.valid and result.code is IdentityCode.MALFORMED


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=400))
def test_any_text_is_refused_without_an_exception(verifier: IdentityVerifier, text: str) -> None:
    result = check(verifier, text)
    assert isinstance(result, IdentityCheck) and not result.valid
    assert result.reason and result.code is not None


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
HEADER_KEYS = st.sampled_from(["alg", "typ", "ppt", "x5u", "kid", "crit", "b64"])
CLAIM_KEYS = st.sampled_from(["attest", "dest", "iat", "orig", "origid", "tn"])


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    header=st.dictionaries(HEADER_KEYS, JSON_VALUES, max_size=5),
    claims=st.dictionaries(CLAIM_KEYS, JSON_VALUES, max_size=6),
    signature=st.binary(max_size=80),
    params=st.lists(
        st.tuples(st.sampled_from(["info", "alg", "ppt", "x"]), st.text(max_size=30)), max_size=4
    ),
)
def test_hostile_passports_are_refused_without_an_exception(
    verifier: IdentityVerifier,
    header: dict[str, Any],
    claims: dict[str, Any],
    signature: bytes,
    params: list[tuple[str, str]],
) -> None:
    header = {"typ": "passport", "alg": "ES256", "x5u": URL, **header}
    sig = base64.urlsafe_b64encode(signature).rstrip(b"=").decode() or "AA"
    token = f"{b64(header)}.{b64(claims)}.{sig}"
    text = token + "".join(f";{name}={value}" for name, value in params)
    result = check(verifier, text)
    assert isinstance(result, IdentityCheck) and not result.valid


@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(position=st.integers(min_value=0), replacement=st.characters())
def test_a_valid_header_changed_anywhere_never_raises(
    verifier: IdentityVerifier, pki: Pki, position: int, replacement: str
) -> None:
    header = identity(passport(pki.sp_key))
    index = position % len(header)
    changed = header[:index] + replacement + header[index + 1 :]
    result = check(verifier, changed)
    assert isinstance(result, IdentityCheck)
    token_end = header.index(".", header.index(".") + 1)
    if changed != header and index < token_end:
        assert not result.valid


# --- the certificate folder and trust anchors ------------------------------------------------


def test_the_folder_cache_mirrors_urls_and_refuses_escapes(tmp_path: Path, pki: Pki) -> None:
    target = tmp_path / "cr.sti.example" / "certs" / "sp1234.pem"
    target.parent.mkdir(parents=True)
    target.write_bytes(pem(pki.sp, pki.intermediate))
    (tmp_path / "secret.pem").write_text("outside")
    cache = FolderCertificateCache(tmp_path)
    assert cache.get(URL) == pem(pki.sp, pki.intermediate)
    assert cache.get("HTTPS://CR.STI.EXAMPLE/certs/sp1234.pem") == pem(pki.sp, pki.intermediate)
    for url in (
        "https://cr.sti.example/certs/../../secret.pem",
        "https://../secret.pem",
        "file:///etc/passwd",
        "https://cr.sti.example/certs/sp1234.pem?x=1",
        "https://user@cr.sti.example/certs/sp1234.pem",
        "https://cr.sti.example/",
        "https://cr.sti.example/certs/missing.pem",
        "https://[::1/x",
        "not a url",
    ):
        assert cache.get(url) is None, url
    verifier = IdentityVerifier(trust_anchors=[pki.root], certificates=cache)
    assert check(verifier, identity(passport(pki.sp_key))).valid


def test_the_folder_cache_sees_a_replaced_file(tmp_path: Path, pki: Pki) -> None:
    target = tmp_path / "cr.sti.example" / "certs" / "sp1234.pem"
    target.parent.mkdir(parents=True)
    target.write_bytes(b"old")
    cache = FolderCertificateCache(tmp_path)
    assert cache.get(URL) == b"old"
    target.write_bytes(pki.sp.public_bytes(serialization.Encoding.DER))
    assert cache.get(URL) == pki.sp.public_bytes(serialization.Encoding.DER)


def test_a_der_certificate_in_the_cache_is_read(pki: Pki) -> None:
    verifier = IdentityVerifier(
        trust_anchors=[pki.intermediate],
        certificates={URL: pki.sp.public_bytes(serialization.Encoding.DER)},
    )
    assert check(verifier, identity(passport(pki.sp_key))).valid


def test_trust_anchors_load_from_a_file_or_a_folder(tmp_path: Path, pki: Pki) -> None:
    (tmp_path / "root.pem").write_bytes(pem(pki.root))
    (tmp_path / "other.crt").write_bytes(pem(pki.intermediate))
    (tmp_path / "notes.txt").write_text("ignored")
    assert load_certificates(tmp_path / "root.pem") == [pki.root]
    assert load_certificates(tmp_path) == [pki.intermediate, pki.root]
    with pytest.raises(ConfigError, match="no such file or folder"):
        load_certificates(tmp_path / "missing")
    (tmp_path / "bad.pem").write_text(
        "-----BEGIN CERTIFICATE-----\nxx\n-----END CERTIFICATE-----\n"
    )
    with pytest.raises(ConfigError, match=r"bad\.pem: cannot be read"):
        load_certificates(tmp_path)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ConfigError, match="no certificate found"):
        load_certificates(empty)
    with pytest.raises(ConfigError, match="no such folder"):
        FolderCertificateCache(tmp_path / "nowhere")


def test_settings_from_the_environment_build_a_verifier(tmp_path: Path, pki: Pki) -> None:
    (tmp_path / "roots.pem").write_bytes(pem(pki.root))
    folder = tmp_path / "certs" / "cr.sti.example" / "certs"
    folder.mkdir(parents=True)
    (folder / "sp1234.pem").write_bytes(pem(pki.sp, pki.intermediate))
    settings_ = StirSettings.from_env(
        {
            "QALQAN_STIR_TRUST_ANCHORS": str(tmp_path / "roots.pem"),
            "QALQAN_STIR_CERTIFICATES": str(tmp_path / "certs"),
            "QALQAN_STIR_MAX_AGE_S": "30",
            "QALQAN_STIR_REQUIRE_TN_AUTH_LIST": "yes",
        }
    )
    verifier = settings_.verifier()
    assert verifier is not None and verifier.max_age_s == 30
    assert check(verifier, identity(passport(pki.sp_key))).valid
    assert StirSettings.from_env({}).verifier() is None
    with pytest.raises(ConfigError) as error:
        StirSettings.from_env(
            {"QALQAN_STIR_MAX_AGE_S": "soon", "QALQAN_STIR_REQUIRE_TN_AUTH_LIST": "maybe"}
        )
    assert "QALQAN_STIR_MAX_AGE_S" in str(error.value)
    assert "QALQAN_STIR_REQUIRE_TN_AUTH_LIST" in str(error.value)


def test_every_stir_setting_is_documented() -> None:
    text = (DOCS / "stir-shaken.md").read_text(encoding="utf-8")
    for variable in StirSettings.ENV.values():
        assert re.search(rf"^\| `{variable}` \|", text, re.MULTILINE), variable
