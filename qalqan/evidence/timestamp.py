"""RFC 3161 time stamps over a package's signature.

A time-stamping authority (TSA) signs *the SHA-256 of the manifest's
signature* together with the time it saw it: proof that the package, as
signed, existed then. :func:`request_timestamp` asks a TSA over HTTP (one
request, a timeout, an answer of at most :data:`MAX_RESPONSE_BYTES`);
:func:`check_timestamp` verifies a token offline against the TSA's
certificates — the package's own ``tsa-chain.pem`` or the ones a partner gives.
"""

from __future__ import annotations

import hashlib
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.serialization import Encoding
from rfc3161_client import (
    HashAlgorithm,
    TimestampRequestBuilder,
    VerificationError,
    VerifierBuilder,
    decode_timestamp_response,
)

from qalqan.evidence.errors import TimestampError

__all__ = [
    "MAX_CHAIN_BYTES",
    "MAX_RESPONSE_BYTES",
    "Timestamp",
    "certificates_pem",
    "check_timestamp",
    "load_certificates",
    "request_timestamp",
]

MAX_RESPONSE_BYTES: Final = 256 * 1024
"""A TSA's answer (or a token in a package) larger than this is refused."""
MAX_CHAIN_BYTES: Final = 256 * 1024
MAX_CERTIFICATES: Final = 16


@dataclass(frozen=True, slots=True, kw_only=True)
class Timestamp:
    """A TSA's answer: the token as received (DER) and what it says."""

    response: bytes
    time: datetime
    tsa: str
    """The TSA certificate's subject, when the token carries it."""
    certificates: tuple[x509.Certificate, ...]
    """The certificates the token carries (the TSA's, when asked for)."""


def _imprint(signature: bytes) -> bytes:
    return hashlib.sha256(signature).digest()


def request_timestamp(url: str, signature: bytes, *, timeout: float = 30.0) -> Timestamp:
    """Ask the TSA at ``url`` to time-stamp ``signature``; the answer's imprint and nonce are
    checked before it is kept."""
    if not url.startswith(("http://", "https://")):
        raise TimestampError(f"{url}: a TSA is reached over http:// or https://")
    request = (
        TimestampRequestBuilder()
        .data(signature)
        .hash_algorithm(HashAlgorithm.SHA256)
        .nonce(nonce=True)
        .cert_request(cert_request=True)
        .build()
    )
    http = urllib.request.Request(
        url,
        data=request.as_bytes(),
        headers={"Content-Type": "application/timestamp-query"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(http, timeout=timeout) as answer:
            body = answer.read(MAX_RESPONSE_BYTES + 1)
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise TimestampError(f"{url}: the TSA did not answer ({exc})") from None
    if len(body) > MAX_RESPONSE_BYTES:
        raise TimestampError(f"{url}: the answer is larger than {MAX_RESPONSE_BYTES:,} bytes")
    stamp = _parse(body, url)
    decoded = decode_timestamp_response(body)
    if decoded.tst_info.nonce != request.nonce:
        raise TimestampError(f"{url}: the answer's nonce is not the request's")
    if decoded.tst_info.message_imprint.message != _imprint(signature):
        raise TimestampError(f"{url}: the answer time-stamps something else")
    return stamp


def _parse(body: bytes, where: str) -> Timestamp:
    try:
        decoded = decode_timestamp_response(body)
        certificates = tuple(
            x509.load_der_x509_certificate(c) for c in decoded.signed_data.certificates
        )
        time = decoded.tst_info.gen_time
        tsa = certificates[0].subject.rfc4514_string() if certificates else ""
    except Exception as exc:  # hostile bytes: whatever the decoders raise is a refusal
        raise TimestampError(f"{where}: not an RFC 3161 time-stamp response ({exc})") from None
    return Timestamp(response=body, time=time, tsa=tsa, certificates=certificates)


def load_certificates(
    data: bytes, where: str, *, exact: bool = False
) -> tuple[x509.Certificate, ...]:
    """PEM certificates (at most :data:`MAX_CERTIFICATES`, at most :data:`MAX_CHAIN_BYTES`).

    ``exact``: the bytes must be those certificates as written, nothing else (a package's
    chain, which no manifest lists: any byte changed shows here)."""
    if len(data) > MAX_CHAIN_BYTES:
        raise TimestampError(f"{where}: larger than {MAX_CHAIN_BYTES:,} bytes")
    try:
        found = tuple(x509.load_pem_x509_certificates(data))
    except ValueError as exc:
        raise TimestampError(f"{where}: not PEM certificates ({exc})") from None
    if len(found) > MAX_CERTIFICATES:
        raise TimestampError(f"{where}: more than {MAX_CERTIFICATES} certificates")
    if exact and certificates_pem(found) != data:
        raise TimestampError(f"{where}: holds more than its certificates as written")
    return found


def certificates_pem(certificates: tuple[x509.Certificate, ...]) -> bytes:
    return b"".join(c.public_bytes(Encoding.PEM) for c in certificates)


def _carried_certificates_check(
    carried: tuple[x509.Certificate, ...], trusted: tuple[x509.Certificate, ...], where: str
) -> None:
    """Every certificate the token carries is a trusted one, byte for byte, or issued by one:
    a certificate the verifier would otherwise take on trust cannot be altered unseen."""
    known = {c.public_bytes(Encoding.DER) for c in trusted}
    for certificate in carried:
        if certificate.public_bytes(Encoding.DER) in known:
            continue
        issuers = [c for c in trusted if c.subject == certificate.issuer]
        for issuer in issuers:
            try:
                certificate.verify_directly_issued_by(issuer)
                break
            except (ValueError, TypeError, InvalidSignature):
                continue
        else:
            raise TimestampError(
                f"{where}: carries a certificate ({certificate.subject.rfc4514_string()}) "
                "that none of the trusted certificates issued"
            )


def check_timestamp(
    token: bytes, signature: bytes, trusted: tuple[x509.Certificate, ...], where: str
) -> Timestamp:
    """Verify a token offline: signed by a certificate chaining to ``trusted``, by a TSA
    certificate with the timeStamping purpose, over the SHA-256 of ``signature``."""
    if len(token) > MAX_RESPONSE_BYTES:
        raise TimestampError(f"{where}: larger than {MAX_RESPONSE_BYTES:,} bytes")
    if not trusted:
        raise TimestampError(f"{where}: no TSA certificate to check it against")
    stamp = _parse(token, where)
    try:
        _carried_certificates_check(stamp.certificates, trusted, where)
    except TimestampError:
        raise
    except Exception as exc:  # a certificate's parts are decoded lazily, hostile or not
        raise TimestampError(
            f"{where}: carries a certificate that cannot be read ({exc})"
        ) from None
    builder = VerifierBuilder()
    for certificate in trusted:
        builder = builder.add_root_certificate(certificate)
    try:
        builder.build().verify(decode_timestamp_response(token), _imprint(signature))
    except VerificationError as exc:
        raise TimestampError(f"{where}: {exc}") from None
    except Exception as exc:  # hostile bytes: whatever the checker raises is a failure
        raise TimestampError(f"{where}: cannot be checked ({exc})") from None
    return stamp
