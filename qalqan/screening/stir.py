"""STIR/SHAKEN: verify the PASSporT a call carries in its SIP Identity header, offline.

Why this matters to Qalqan: a fraud call center's first tool is a caller ID it
does not own (a bank's hotline, the police, a relative's mobile). Where the
originating network signs the caller ID (RFC 8224 Identity header carrying an
RFC 8225 PASSporT with the RFC 8588 SHAKEN extension), a verified signature
and its attestation level (``A``: the signer knows the customer and the
number, ``B``: the customer but not the number, ``C``: only the gateway) are
strong evidence for the screening engine, and a broken one is evidence too.

What is checked, cheapest first, so that garbage costs microseconds and only
well-formed, fresh, matching PASSporTs reach the certificate and the ECDSA
signature:

1. the header: ``token;info=<URL>;alg=ES256;ppt=shaken`` (RFC 8224 §4), the
   full form ``header.payload.signature`` or the compact form
   ``header..signature`` (RFC 8225 §7, payload rebuilt from the call);
2. the PASSporT header: ``typ`` ``passport``, ``alg`` ``ES256``, ``ppt``, and
   ``x5u`` the same URL as the ``info`` parameter;
3. the claims: ``attest`` A/B/C and ``origid`` (SHAKEN), ``orig.tn`` and
   ``dest.tn`` against the call's caller and callee (digits of E.164), and
   ``iat`` within ``max_age_s`` of the call time, either way;
4. the certificate: ``x5u`` looked up **only** in a local certificate cache
   (a folder or a mapping the operator fills out of band), the chain validated
   against the configured STI-CA trust anchors at the call time, an EC P-256
   key and, by default, the TNAuthList extension of STI certificates;
5. the ES256 signature (PyJWT over ``cryptography``).

The verifier never opens a socket: a screening node answers in milliseconds
and must not be made to fetch a URL a caller chose. Chains that validated are
remembered per URL (with the window in which every certificate of the chain
is valid), so the usual cost of a call is one dictionary look-up and one
signature check.

Every failure is an :class:`IdentityCheck` with ``valid=False``, a machine
code (:class:`IdentityCode`) and a reason an operator understands
(``PASSporT is 312 s old (limit 60 s)``); :meth:`IdentityVerifier.verify`
never raises on hostile input. Only a wrong configuration raises, as
:class:`~qalqan.errors.ConfigError`.

    >>> from datetime import UTC, datetime
    >>> verifier = IdentityVerifier(trust_anchors=[], certificates={})
    >>> check = verifier.verify("garbage", caller="+77011234567", callee="+77071234567",
    ...                         now=datetime(2026, 3, 2, tzinfo=UTC))
    >>> check.valid, check.code.value
    (False, 'malformed')
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar, Protocol
from urllib.parse import urlsplit

import jwt
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509 import verification

from qalqan import config
from qalqan.errors import ConfigError, QalqanError

if TYPE_CHECKING:
    from qalqan.domain.model import CallAttempt

__all__ = [
    "TN_AUTH_LIST_OID",
    "CertificateCache",
    "FolderCertificateCache",
    "IdentityCheck",
    "IdentityCode",
    "IdentityVerifier",
    "StirSettings",
    "load_certificates",
]

#: RFC 8226 TNAuthList: the numbers or service provider code an STI certificate may sign for.
TN_AUTH_LIST_OID = x509.ObjectIdentifier("1.3.6.1.5.5.7.1.26")

MAX_HEADER_CHARS = 8192
"""A real Identity header is under 1 KB; anything far longer is not worth parsing."""
MAX_IDENTITY_VALUES = 4
"""Identity headers checked per call (a call may carry e.g. a ``shaken`` and a ``div`` PASSporT)."""
_ATTESTATIONS = ("A", "B", "C")
_B64URL = re.compile(r"^[A-Za-z0-9_-]*$")
_TN_SEPARATORS = str.maketrans("", "", " -.()")
_PIECES = re.compile(r'[^,;<"]+|<[^>]*>?|"[^"]*"?|[,;]')
"""Runs of plain text, ``<...>`` and ``"..."`` kept whole, and the separators between them."""


class IdentityCode(StrEnum):
    """Why an Identity header did not verify, for rules and metrics (the reason says it in words)."""

    MALFORMED = "malformed"
    """The header or the PASSporT cannot be read."""
    UNSUPPORTED = "unsupported"
    """Readable, but not a kind Qalqan verifies (another ``alg`` or ``ppt``, compact SHAKEN)."""
    BAD_CLAIMS = "bad_claims"
    """A claim is missing or wrong: ``attest``, ``origid``, ``orig``, ``dest``, ``iat``."""
    NUMBER_MISMATCH = "number_mismatch"
    """``orig.tn`` is not the caller or ``dest.tn`` does not hold the callee."""
    STALE = "stale"
    """``iat`` is further from the call time than the limit: a replayed or delayed PASSporT."""
    UNKNOWN_CERTIFICATE = "unknown_certificate"
    """The ``x5u`` URL is not in the local certificate cache (a gap in the cache, not proof of fraud)."""
    BAD_CERTIFICATE = "bad_certificate"
    """The certificate is unreadable or not an STI certificate (key type, TNAuthList)."""
    CERTIFICATE_EXPIRED = "certificate_expired"
    """A certificate of the chain is not valid at the call time."""
    UNTRUSTED = "untrusted"
    """The chain does not lead to a configured STI-CA trust anchor."""
    BAD_SIGNATURE = "bad_signature"
    """The signature does not match the certificate: the PASSporT was altered or forged."""


@dataclass(frozen=True, slots=True, kw_only=True)
class IdentityCheck:
    """The verdict on one call's Identity header."""

    valid: bool
    attestation: str | None
    """``A``, ``B`` or ``C`` when valid and SHAKEN; None otherwise (claims of a bad PASSporT mean nothing)."""
    reason: str
    """In an operator's words: what was verified, or what failed."""
    origid: str | None
    """The SHAKEN origination identifier (traces the call to its entry point), when valid."""
    code: IdentityCode | None = None
    """Why it failed; None when valid."""
    signer: str | None = None
    """Subject of the certificate that signed, when the chain validated."""


class CertificateCache(Protocol):
    """Where ``x5u`` URLs are looked up: anything with ``get(url)`` giving PEM (or DER) or None.

    A plain ``dict`` of URL to PEM text or bytes is one; :class:`FolderCertificateCache` is another.
    """

    def get(self, url: str, /) -> bytes | str | None: ...


class FolderCertificateCache:
    """Certificates in a folder that mirrors their URLs: ``https://host/path`` → ``FOLDER/host/path``.

    ``https://cr.example.net:8443/sti/sp1234.pem`` is read from
    ``FOLDER/cr.example.net:8443/sti/sp1234.pem``. URLs with a query, a
    fragment, ``..`` segments or a scheme other than http(s) are never found.
    Files are read once and read again when their size or modification time
    changes, so an operator refreshes a certificate by replacing its file.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        if not self.folder.is_dir():
            raise ConfigError(f"certificate cache {self.folder}: there is no such folder")
        self._root = self.folder.resolve()
        self._files: dict[Path, tuple[int, int, bytes]] = {}
        self._lock = threading.Lock()

    def path_of(self, url: str) -> Path | None:
        """The file that would hold ``url``, None when the URL cannot name a file in the cache."""
        try:
            parts = urlsplit(url)
        except ValueError:
            return None
        if parts.scheme.lower() not in ("http", "https") or parts.query or parts.fragment:
            return None
        host = parts.netloc.lower()
        if not host or "@" in host or "/" in host or "\\" in host or host in (".", ".."):
            return None
        segments = [s for s in parts.path.split("/") if s]
        if not segments or any(s in (".", "..") or "\\" in s or "\0" in s for s in segments):
            return None
        path = self._root.joinpath(host, *segments)
        return path if path.is_relative_to(self._root) else None

    def get(self, url: str, /) -> bytes | None:
        path = self.path_of(url)
        if path is None:
            return None
        try:
            stat = path.stat()
        except (OSError, ValueError):
            return None
        with self._lock:
            known = self._files.get(path)
        if known is not None and known[0] == stat.st_mtime_ns and known[1] == stat.st_size:
            return known[2]
        try:
            data = path.read_bytes()
        except OSError:
            return None
        with self._lock:
            self._files[path] = (stat.st_mtime_ns, stat.st_size, data)
        return data


def load_certificates(path: Path) -> list[x509.Certificate]:
    """Every certificate in a PEM file, or in the ``.pem``/``.crt``/``.cer`` files of a folder.

    This is how trust anchors (the STI-CA roots an operator trusts) are read.
    """
    path = Path(path)
    if path.is_dir():
        files = sorted(
            p
            for p in path.iterdir()
            if p.suffix.lower() in (".pem", ".crt", ".cer") and p.is_file()
        )
    elif path.is_file():
        files = [path]
    else:
        raise ConfigError(f"trust anchors {path}: there is no such file or folder")
    certificates: list[x509.Certificate] = []
    for file in files:
        try:
            certificates.extend(_read_certificates(file.read_bytes()))
        except (OSError, ValueError) as error:
            raise ConfigError(f"trust anchors {file}: cannot be read: {error}") from None
    if not certificates:
        raise ConfigError(f"trust anchors {path}: no certificate found")
    return certificates


def _read_certificates(data: bytes) -> list[x509.Certificate]:
    if b"-----BEGIN" in data:
        return x509.load_pem_x509_certificates(data)
    return [x509.load_der_x509_certificate(data)]


class _CheckFailedError(QalqanError):
    """A check failed; caught inside the verifier and turned into an :class:`IdentityCheck`."""

    def __init__(self, code: IdentityCode, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


@dataclass(frozen=True, slots=True)
class _Chain:
    """A certificate chain that validated, and the window in which it stays valid."""

    pem: bytes
    key: ec.EllipticCurvePublicKey
    not_before: datetime
    not_after: datetime
    signer: str


@dataclass(frozen=True, slots=True)
class _Passport:
    token: str
    header: dict[str, Any]
    payload: dict[str, Any] | None
    """None for the compact form."""
    params: dict[str, str]


class IdentityVerifier:
    """Verifies SIP Identity headers against local trust anchors and a local certificate cache.

    ``trust_anchors`` are the STI-CA certificates the operator trusts (see
    :func:`load_certificates`); ``certificates`` resolves ``x5u`` URLs (a dict
    of URL to PEM, or a :class:`FolderCertificateCache`). ``max_age_s`` bounds
    the distance between ``iat`` and the call time, either way (RFC 8224 §6.2.1
    suggests 60 s). ``require_tn_auth_list`` insists that the signing
    certificate carries the TNAuthList extension of STI certificates.
    """

    def __init__(
        self,
        *,
        trust_anchors: list[x509.Certificate],
        certificates: CertificateCache,
        max_age_s: int = 60,
        require_tn_auth_list: bool = True,
        cache_size: int = 4096,
    ) -> None:
        if max_age_s <= 0:
            raise ConfigError(f"STIR max_age_s {max_age_s} must be above 0")
        if cache_size < 1:
            raise ConfigError(f"STIR cache_size {cache_size} must be at least 1")
        self.trust_anchors = list(trust_anchors)
        self.certificates = certificates
        self.max_age_s = max_age_s
        self.require_tn_auth_list = require_tn_auth_list
        self._store = verification.Store(self.trust_anchors) if self.trust_anchors else None
        self._ca_policy = verification.ExtensionPolicy.permit_all().require_present(
            x509.BasicConstraints, verification.Criticality.AGNOSTIC, _must_be_ca
        )
        self._ee_policy = verification.ExtensionPolicy.permit_all().may_be_present(
            x509.BasicConstraints, verification.Criticality.AGNOSTIC, _must_not_be_ca
        )
        self._jws = jwt.PyJWS()
        self._chains: OrderedDict[str, _Chain] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    @classmethod
    def from_files(
        cls, *, trust_anchors: Path, certificates: Path, max_age_s: int = 60, **options: Any
    ) -> IdentityVerifier:
        """A verifier reading trust anchors from a PEM file or folder and certificates from a folder."""
        return cls(
            trust_anchors=load_certificates(trust_anchors),
            certificates=FolderCertificateCache(certificates),
            max_age_s=max_age_s,
            **options,
        )

    # --- the verdict -------------------------------------------------------------------------

    def verify(
        self,
        identity_header: str,
        *,
        caller: str | None,
        callee: str,
        now: datetime,
        signed_at: datetime | None = None,
    ) -> IdentityCheck:
        """Verify the Identity header of a call from ``caller`` to ``callee`` set up at ``now``.

        ``signed_at`` is the time in the SIP Date header; it is needed only to
        rebuild the ``iat`` of a compact-form PASSporT. When several Identity
        values are given (comma-separated), a valid SHAKEN one wins, then any
        valid one, else the first failure is reported.
        """
        try:
            now = _aware(now)
            values = _split_values(_strip_name(identity_header))
            checks = [
                self._verify_one(value, caller=caller, callee=callee, now=now, signed_at=signed_at)
                for value in values
            ]
        except _CheckFailedError as failed:
            return _failure(failed)
        except Exception as error:  # the promise: hostile input never raises
            return IdentityCheck(
                valid=False,
                attestation=None,
                reason=f"Identity header cannot be verified ({type(error).__name__})",
                origid=None,
                code=IdentityCode.MALFORMED,
            )
        valid = [c for c in checks if c.valid]
        shaken = [c for c in valid if c.attestation is not None]
        return (shaken or valid or checks)[0]

    def verify_attempt(self, attempt: CallAttempt) -> IdentityCheck | None:
        """The verdict on a call attempt's Identity header; None when it carried none."""
        if not attempt.identity:
            return None
        return self.verify(
            attempt.identity, caller=attempt.caller, callee=attempt.callee, now=attempt.time
        )

    def _verify_one(
        self,
        value: str,
        *,
        caller: str | None,
        callee: str,
        now: datetime,
        signed_at: datetime | None,
    ) -> IdentityCheck:
        try:
            passport = _parse_identity(value)
            ppt = _check_header(passport)
            if passport.payload is None:
                token, claims = _rebuild_compact(
                    passport, ppt=ppt, caller=caller, callee=callee, signed_at=signed_at
                )
            else:
                token, claims = passport.token, passport.payload
            attestation, origid = _check_claims(claims, ppt=ppt)
            _check_numbers(claims, caller=caller, callee=callee)
            self._check_freshness(claims, now=now)
            x5u = str(passport.header["x5u"])
            chain = self._chain(x5u, now=now)
            self._check_signature(token, chain)
        except _CheckFailedError as failed:
            return _failure(failed)
        what = (
            f"attestation {attestation}" if attestation else "PASSporT without SHAKEN attestation"
        )
        return IdentityCheck(
            valid=True,
            attestation=attestation,
            reason=f"verified: {what}, signed by {chain.signer}",
            origid=origid,
            signer=chain.signer,
        )

    # --- time --------------------------------------------------------------------------------

    def _check_freshness(self, claims: Mapping[str, Any], *, now: datetime) -> None:
        iat = claims.get("iat")
        if isinstance(iat, bool) or not isinstance(iat, int | float):
            raise _CheckFailedError(
                IdentityCode.BAD_CLAIMS, "PASSporT has no iat (signing time) number"
            )
        try:
            age = now.timestamp() - float(iat)
        except OverflowError:
            age = math.inf
        if not math.isfinite(age):
            raise _CheckFailedError(
                IdentityCode.BAD_CLAIMS, f"PASSporT iat {_shown(iat)} is not a time"
            )
        if age > self.max_age_s:
            raise _CheckFailedError(
                IdentityCode.STALE, f"PASSporT is {age:.0f} s old (limit {self.max_age_s} s)"
            )
        if -age > self.max_age_s:
            raise _CheckFailedError(
                IdentityCode.STALE,
                f"PASSporT is dated {-age:.0f} s in the future (limit {self.max_age_s} s)",
            )

    # --- certificates ------------------------------------------------------------------------

    def _chain(self, x5u: str, *, now: datetime) -> _Chain:
        try:
            found = self.certificates.get(x5u)
        except Exception as error:
            raise _CheckFailedError(
                IdentityCode.UNKNOWN_CERTIFICATE,
                f"x5u {_shown(x5u)}: the certificate cache cannot be read ({error})",
            ) from None
        if found is None:
            raise _CheckFailedError(
                IdentityCode.UNKNOWN_CERTIFICATE,
                f"x5u {_shown(x5u)} not in the local certificate cache",
            )
        pem = found.encode() if isinstance(found, str) else bytes(found)
        with self._lock:
            known = self._chains.get(x5u)
            if (
                known is not None
                and known.pem == pem
                and known.not_before <= now <= known.not_after
            ):
                self._chains.move_to_end(x5u)
                return known
        chain = self._validate(x5u, pem, now=now)
        with self._lock:
            self._chains[x5u] = chain
            self._chains.move_to_end(x5u)
            while len(self._chains) > self._cache_size:
                self._chains.popitem(last=False)
        return chain

    def _validate(self, x5u: str, pem: bytes, *, now: datetime) -> _Chain:
        try:
            certificates = _read_certificates(pem)
        except ValueError:
            certificates = []
        if not certificates:
            raise _CheckFailedError(
                IdentityCode.BAD_CERTIFICATE,
                f"x5u {_shown(x5u)} in the certificate cache holds no readable certificate",
            )
        leaf, intermediates = certificates[0], certificates[1:]
        signer = leaf.subject.rfc4514_string() or "(no subject)"
        key = leaf.public_key()
        if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
            kind = type(key).__name__.removesuffix("PublicKey").removeprefix("_")
            raise _CheckFailedError(
                IdentityCode.BAD_CERTIFICATE,
                f"certificate {signer} has a {kind} key, not EC P-256 as ES256 needs",
            )
        if self.require_tn_auth_list:
            try:
                leaf.extensions.get_extension_for_oid(TN_AUTH_LIST_OID)
            except x509.ExtensionNotFound:
                raise _CheckFailedError(
                    IdentityCode.BAD_CERTIFICATE,
                    f"certificate {signer} has no TNAuthList extension: not an STI certificate",
                ) from None
        if self._store is None:
            raise _CheckFailedError(
                IdentityCode.UNTRUSTED,
                "certificate not issued by a trusted STI-CA (no trust anchors are configured)",
            )
        verifier = (
            verification.PolicyBuilder()
            .store(self._store)
            .time(now)
            .extension_policies(ca_policy=self._ca_policy, ee_policy=self._ee_policy)
            .build_client_verifier()
        )
        try:
            verified = verifier.verify(leaf, intermediates)
        except verification.VerificationError as error:
            raise self._diagnose(certificates, now=now, detail=str(error)) from None
        chain = verified.chain
        return _Chain(
            pem=pem,
            key=key,
            not_before=max(c.not_valid_before_utc for c in chain),
            not_after=min(c.not_valid_after_utc for c in chain),
            signer=signer,
        )

    def _diagnose(
        self, certificates: list[x509.Certificate], *, now: datetime, detail: str
    ) -> _CheckFailedError:
        """Turn a failed path validation into the reason an operator can act on."""
        when = now.strftime("%Y-%m-%d %H:%M UTC")
        for cert in certificates:
            name = cert.subject.rfc4514_string() or "(no subject)"
            if now > cert.not_valid_after_utc:
                return _CheckFailedError(
                    IdentityCode.CERTIFICATE_EXPIRED,
                    f"certificate {name} expired on {cert.not_valid_after_utc:%Y-%m-%d} (call at {when})",
                )
            if now < cert.not_valid_before_utc:
                return _CheckFailedError(
                    IdentityCode.CERTIFICATE_EXPIRED,
                    f"certificate {name} is not valid before {cert.not_valid_before_utc:%Y-%m-%d} (call at {when})",
                )
        top_issuer = certificates[-1].issuer
        for anchor in self.trust_anchors:
            if anchor.subject == top_issuer and not (
                anchor.not_valid_before_utc <= now <= anchor.not_valid_after_utc
            ):
                return _CheckFailedError(
                    IdentityCode.CERTIFICATE_EXPIRED,
                    f"trusted STI-CA {anchor.subject.rfc4514_string()} is not valid at the call time "
                    f"(valid {anchor.not_valid_before_utc:%Y-%m-%d} to {anchor.not_valid_after_utc:%Y-%m-%d})",
                )
        issuer = top_issuer.rfc4514_string() or "(no name)"
        why = detail.split(" (encountered processing", 1)[0].removeprefix("validation failed: ")
        if why.startswith("candidates exhausted: all candidates exhausted"):
            why = "no path to a trust anchor"
        return _CheckFailedError(
            IdentityCode.UNTRUSTED,
            f"certificate not issued by a trusted STI-CA (issuer {issuer}: {why})",
        )

    # --- signature ---------------------------------------------------------------------------

    def _check_signature(self, token: str, chain: _Chain) -> None:
        try:
            self._jws.decode_complete(token, key=chain.key, algorithms=["ES256"])
        except jwt.InvalidSignatureError:
            raise _CheckFailedError(
                IdentityCode.BAD_SIGNATURE, "signature does not match the certificate"
            ) from None
        except jwt.PyJWTError as error:
            raise _CheckFailedError(
                IdentityCode.MALFORMED, f"PASSporT cannot be checked: {error}"
            ) from None


# --- parsing ---------------------------------------------------------------------------------


def _strip_name(text: str) -> str:
    if not isinstance(text, str):
        raise _CheckFailedError(IdentityCode.MALFORMED, "Identity header is not text")
    if len(text) > MAX_HEADER_CHARS:
        raise _CheckFailedError(
            IdentityCode.MALFORMED,
            f"Identity header is {len(text)} characters long (limit {MAX_HEADER_CHARS})",
        )
    text = text.strip()
    head, colon, rest = text.partition(":")
    if colon and head.strip().lower() in ("identity", "y"):
        return rest.strip()
    return text


def _split(text: str, separator: str) -> list[str]:
    """``text`` cut at ``separator``, but not inside ``<...>`` or ``"..."``."""
    parts: list[str] = []
    current: list[str] = []
    for piece in _PIECES.findall(text):
        if piece == separator:
            parts.append("".join(current).strip())
            current = []
        else:
            current.append(piece)
    parts.append("".join(current).strip())
    return parts


def _split_values(text: str) -> list[str]:
    """The comma-separated Identity values of a header."""
    values = [v for v in _split(text, ",") if v]
    if not values:
        raise _CheckFailedError(IdentityCode.MALFORMED, "Identity header is empty")
    if len(values) > MAX_IDENTITY_VALUES:
        raise _CheckFailedError(
            IdentityCode.MALFORMED,
            f"{len(values)} Identity values (limit {MAX_IDENTITY_VALUES})",
        )
    return values


def _parse_identity(value: str) -> _Passport:
    token_part, *param_parts = _split(value, ";")
    token = "".join(token_part.split())
    params: dict[str, str] = {}
    for part in param_parts:
        if not part:
            continue
        name, _, raw = part.partition("=")
        name = name.strip().lower()
        raw = raw.strip()
        if name in params:
            raise _CheckFailedError(
                IdentityCode.MALFORMED, f"Identity header repeats the {name} parameter"
            )
        if raw.startswith("<") and raw.endswith(">"):
            raw = raw[1:-1].strip()
        elif len(raw) >= 2 and raw.startswith('"') and raw.endswith('"'):
            raw = raw[1:-1]
        params[name] = raw
    pieces = token.split(".")
    if len(pieces) != 3 or not pieces[0] or not pieces[2]:
        raise _CheckFailedError(
            IdentityCode.MALFORMED,
            "Identity header is not a PASSporT (header.payload.signature or header..signature)",
        )
    header = _json_object(pieces[0], "PASSporT header")
    payload = _json_object(pieces[1], "PASSporT payload") if pieces[1] else None
    _b64url_decode(pieces[2], "PASSporT signature")
    return _Passport(token=token, header=header, payload=payload, params=params)


def _b64url_decode(text: str, what: str) -> bytes:
    if not _B64URL.match(text) or len(text) % 4 == 1:
        raise _CheckFailedError(IdentityCode.MALFORMED, f"{what} is not base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise _CheckFailedError(IdentityCode.MALFORMED, f"{what} is not base64url") from None


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"'{key}' appears twice")
        result[key] = value
    return result


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _json_object(text: str, what: str) -> dict[str, Any]:
    raw = _b64url_decode(text, what)
    try:
        value = json.loads(
            raw.decode("utf-8"), object_pairs_hook=_no_duplicates, parse_constant=_no_constant
        )
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise _CheckFailedError(IdentityCode.MALFORMED, f"{what} is not JSON ({error})") from None
    if not isinstance(value, dict):
        raise _CheckFailedError(IdentityCode.MALFORMED, f"{what} is not a JSON object")
    return value


def _check_header(passport: _Passport) -> str | None:
    """Check the PASSporT header against itself and the Identity parameters; the ``ppt``."""
    header, params = passport.header, passport.params
    if header.get("typ") != "passport":
        raise _CheckFailedError(
            IdentityCode.MALFORMED,
            f"PASSporT header typ is {_shown(header.get('typ'))}, not passport",
        )
    alg = header.get("alg")
    if alg != "ES256":
        raise _CheckFailedError(
            IdentityCode.UNSUPPORTED, f"PASSporT is signed with {_shown(alg)}, not ES256 (SHAKEN)"
        )
    if "alg" in params and params["alg"] != alg:
        raise _CheckFailedError(
            IdentityCode.MALFORMED,
            f"Identity alg={_shown(params['alg'])} does not match the PASSporT's {alg}",
        )
    ppt = header.get("ppt")
    if ppt is not None and not isinstance(ppt, str):
        raise _CheckFailedError(IdentityCode.MALFORMED, "PASSporT header ppt is not text")
    if "ppt" in params and params["ppt"] != ppt:
        raise _CheckFailedError(
            IdentityCode.MALFORMED,
            f"Identity ppt={_shown(params['ppt'])} does not match the PASSporT's {_shown(ppt)}",
        )
    if ppt not in (None, "shaken"):
        raise _CheckFailedError(
            IdentityCode.UNSUPPORTED,
            f"PASSporT type ppt={_shown(ppt)} is not verified (only shaken)",
        )
    x5u = header.get("x5u")
    if not isinstance(x5u, str) or not x5u:
        raise _CheckFailedError(
            IdentityCode.MALFORMED, "PASSporT header has no x5u certificate URL"
        )
    info = params.get("info")
    if not info:
        raise _CheckFailedError(
            IdentityCode.MALFORMED, "Identity header has no info=<certificate URL> parameter"
        )
    if info != x5u:
        raise _CheckFailedError(
            IdentityCode.MALFORMED,
            f"Identity info {_shown(info)} is not the PASSporT's x5u {_shown(x5u)}",
        )
    return ppt


def _rebuild_compact(
    passport: _Passport,
    *,
    ppt: str | None,
    caller: str | None,
    callee: str,
    signed_at: datetime | None,
) -> tuple[str, dict[str, Any]]:
    """RFC 8225 §7: rebuild the omitted payload from the call, in canonical JSON."""
    if ppt == "shaken":
        raise _CheckFailedError(
            IdentityCode.UNSUPPORTED,
            "compact PASSporT cannot carry SHAKEN attest and origid (RFC 8588 needs the full form)",
        )
    if signed_at is None:
        raise _CheckFailedError(
            IdentityCode.BAD_CLAIMS,
            "compact PASSporT needs the SIP Date header to rebuild iat; none was given",
        )
    if caller is None:
        raise _CheckFailedError(
            IdentityCode.NUMBER_MISMATCH,
            "compact PASSporT cannot be checked: the caller ID is withheld",
        )
    claims: dict[str, Any] = {
        "dest": {"tn": [_digits(callee)]},
        "iat": int(_aware(signed_at).timestamp()),
        "orig": {"tn": _digits(caller)},
    }
    payload = json.dumps(claims, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    encoded = base64.urlsafe_b64encode(payload.encode()).rstrip(b"=").decode("ascii")
    head, _, signature = passport.token.split(".")
    return f"{head}.{encoded}.{signature}", claims


def _check_claims(claims: Mapping[str, Any], *, ppt: str | None) -> tuple[str | None, str | None]:
    if ppt != "shaken":
        return None, None
    attest = claims.get("attest")
    if attest not in _ATTESTATIONS:
        raise _CheckFailedError(
            IdentityCode.BAD_CLAIMS, f"attestation {_shown(attest)} is not A, B or C"
        )
    origid = claims.get("origid")
    if not isinstance(origid, str) or not origid.strip():
        raise _CheckFailedError(IdentityCode.BAD_CLAIMS, "SHAKEN PASSporT has no origid")
    return str(attest), origid


def _tn(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise _CheckFailedError(IdentityCode.BAD_CLAIMS, f"{what} is not a telephone number")
    digits = value.translate(_TN_SEPARATORS).removeprefix("+")
    if not digits.isascii() or not digits.isdigit() or not 1 <= len(digits) <= 15:
        raise _CheckFailedError(
            IdentityCode.BAD_CLAIMS, f"{what} {_shown(value)} is not a telephone number"
        )
    return digits


def _digits(number: str) -> str:
    """Digits of a number as RFC 8224 §8.3 compares them: E.164 without the plus."""
    return "".join(c for c in number if c.isascii() and c.isdigit())


def _check_numbers(claims: Mapping[str, Any], *, caller: str | None, callee: str) -> None:
    orig, dest = claims.get("orig"), claims.get("dest")
    if not isinstance(orig, dict) or "tn" not in orig:
        raise _CheckFailedError(
            IdentityCode.BAD_CLAIMS, "PASSporT orig has no telephone number (tn)"
        )
    if not isinstance(dest, dict) or "tn" not in dest:
        raise _CheckFailedError(
            IdentityCode.BAD_CLAIMS, "PASSporT dest has no telephone number (tn)"
        )
    orig_tn = _tn(orig["tn"], "orig")
    raw_dest = dest["tn"]
    dest_list = [raw_dest] if isinstance(raw_dest, str) else raw_dest
    if not isinstance(dest_list, list) or not dest_list or len(dest_list) > 64:
        raise _CheckFailedError(
            IdentityCode.BAD_CLAIMS, "PASSporT dest tn is not a list of numbers"
        )
    dest_tns = [_tn(tn, "dest") for tn in dest_list]
    if caller is None:
        raise _CheckFailedError(
            IdentityCode.NUMBER_MISMATCH,
            f"orig {orig_tn} cannot be matched: the caller ID is withheld",
        )
    if orig_tn != _digits(caller):
        raise _CheckFailedError(IdentityCode.NUMBER_MISMATCH, f"orig {orig_tn} ≠ caller {caller}")
    if _digits(callee) not in dest_tns:
        raise _CheckFailedError(
            IdentityCode.NUMBER_MISMATCH, f"dest {', '.join(dest_tns)} ≠ callee {callee}"
        )


# --- small pieces ----------------------------------------------------------------------------


def _must_be_ca(
    policy: verification.Policy, cert: x509.Certificate, value: x509.BasicConstraints
) -> None:
    if not value.ca:
        raise ValueError("an issuing certificate is not a CA")


def _must_not_be_ca(
    policy: verification.Policy, cert: x509.Certificate, value: x509.BasicConstraints | None
) -> None:
    if value is not None and value.ca:
        raise ValueError("the signing certificate is a CA certificate")


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _shown(value: object, limit: int = 80) -> str:
    """A value from hostile input, quoted and cut short for a reason text."""
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    text = "".join(c if c.isprintable() else "?" for c in text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _failure(failed: _CheckFailedError) -> IdentityCheck:
    return IdentityCheck(
        valid=False, attestation=None, reason=failed.reason, origid=None, code=failed.code
    )


# --- settings --------------------------------------------------------------------------------


@config.part("stir", prefix="QALQAN_STIR_", title="STIR/SHAKEN settings")
@dataclass(frozen=True, slots=True, kw_only=True)
class StirSettings:
    """Where a screening node finds its STIR/SHAKEN trust: the ``[stir]`` table, ``QALQAN_STIR_*``.

    Documented in ``docs/stir-shaken.md``; :attr:`ENV` names every variable.
    """

    trust_anchors: Path | None = field(
        default=None,
        metadata=config.setting(
            "QALQAN_STIR_TRUST_ANCHORS",
            "PEM file or folder of the STI-CA root certificates to trust; none: STIR/SHAKEN off.",
        ),
    )
    certificates: Path | None = field(
        default=None,
        metadata=config.setting(
            "QALQAN_STIR_CERTIFICATES",
            "Folder mirroring the x5u URLs of signing certificates, as host/path; none: "
            "STIR/SHAKEN off.",
        ),
    )
    max_age_s: int = field(
        default=60,
        metadata=config.setting(
            "QALQAN_STIR_MAX_AGE_S",
            "Largest distance between a PASSporT's iat and the call time, in seconds.",
        ),
    )
    require_tn_auth_list: bool = field(
        default=True,
        metadata=config.setting(
            "QALQAN_STIR_REQUIRE_TN_AUTH_LIST",
            "Refuse signing certificates without the TNAuthList extension (RFC 8226).",
        ),
    )

    ENV: ClassVar[Mapping[str, str]]
    """Every setting's environment variable, by field name."""

    def __post_init__(self) -> None:
        if not self.max_age_s > 0:
            raise ConfigError(
                f"STIR/SHAKEN settings: QALQAN_STIR_MAX_AGE_S={self.max_age_s} must be above 0"
            )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> StirSettings:
        """Settings from the file ``QALQAN_CONFIG`` names (its ``[stir]`` table), then
        ``QALQAN_STIR_*`` variables; every mistake is named in one :class:`ConfigError`."""
        return config.from_env(cls, environ)

    @property
    def configured(self) -> bool:
        """True when both the trust anchors and the certificate cache are set."""
        return self.trust_anchors is not None and self.certificates is not None

    def verifier(self) -> IdentityVerifier | None:
        """The verifier these settings describe; None when STIR/SHAKEN is not configured."""
        if self.trust_anchors is None or self.certificates is None:
            return None
        return IdentityVerifier.from_files(
            trust_anchors=self.trust_anchors,
            certificates=self.certificates,
            max_age_s=self.max_age_s,
            require_tn_auth_list=self.require_tn_auth_list,
        )


StirSettings.ENV = MappingProxyType({f.name: f.metadata["env"] for f in fields(StirSettings)})
