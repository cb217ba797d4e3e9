"""Verifies OpenID Connect access tokens (ID-porten for citizens, HelseID for staff and support) against trusted issuers."""

from __future__ import annotations

import ipaddress
import json
import logging
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx
from joserfc import errors as jose_errors
from joserfc import jwt
from joserfc.jwk import KeySet

from timebok.domain.clock import now

log = logging.getLogger("timebok.oidc")

# Asymmetric only: "none" is no signature, and an HMAC algorithm would let anyone holding the issuer's
# *public* key (everyone) sign tokens the backend then trusts.
ALGORITHMS = ("RS256", "ES256")
LEEWAY = 30  # seconds of clock skew allowed between the issuer and us on exp, nbf and iat
REFETCH_COOLDOWN = 10.0  # an unknown kid refetches the JWKS at most this often, so junk tokens cannot hammer the issuer
FETCH_TIMEOUT = 5.0
# How long a fetched key set is trusted before it is fetched again, so a key the issuer withdrew stops verifying:
# the issuer's Cache-Control max-age, kept between a floor (an issuer saying no-cache must not be asked per token)
# and a ceiling (one saying a day must not keep a withdrawn key for a day). No max-age: the ceiling.
KEYS_MIN_AGE = 30.0
KEYS_MAX_AGE = 300.0
# A key set larger than this is refused (a real issuer publishes a handful of keys): it would be kept in memory.
JWKS_MAX_KEYS = 100
JWKS_MAX_BYTES = 256 * 1024

ROLES = ("citizen", "staff", "support")
# ID-porten's levels of assurance accepted for citizens (eIDAS substantial and high).
CITIZEN_ACR = frozenset({"idporten-loa-substantial", "idporten-loa-high"})
# HelseID's security level: 4 is "high" (BankID and the like); 3 ("substantial") is not enough to read
# patient data under Normen, so staff and support need 4.
HELSEID_LEVEL_CLAIM = "helseid://claims/identity/security_level"
HELSEID_MIN_LEVEL = 4
HELSEID_PID = "helseid://claims/identity/pid"
HELSEID_HPR = "helseid://claims/hpr/hpr_number"
ORGNR_CLAIMS = ("helseid://claims/client/claims/orgnr_child", "helseid://claims/client/claims/orgnr_parent")
# A HelseID token carrying this scope is an NHN support agent (granted by NHN to its kundesenter only).
SUPPORT_SCOPE = "nhn:timebok/support"


class TokenRefused(Exception):
    """The token is not one we trust; the message is for the OperationOutcome (never holds the token)."""


class IssuerUnreachable(Exception):
    """The issuer's discovery document or keys could not be fetched."""


def check_issuer_url(url: str) -> str:
    """The issuer URL without a trailing slash, or ValueError: https, or http on a loopback address only."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return url.rstrip("/")
    if parts.scheme == "http" and parts.hostname:
        host = parts.hostname
        try:
            loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = False
        if loopback:
            return url.rstrip("/")
    raise ValueError(f"issuer {url!r} must be https (or http on a loopback address, for a local provider)")


def parse_issuers(values: list[str]) -> dict[str, str]:
    """`role=URL` items (from --oidc-issuer or TIMEBOK_OIDC_ISSUERS) as {role: issuer}, or ValueError."""
    issuers: dict[str, str] = {}
    for value in values:
        role, sep, url = value.partition("=")
        role = role.strip()
        if not sep or role not in ROLES:
            raise ValueError(f"--oidc-issuer wants ROLE=URL with ROLE one of {', '.join(ROLES)}, not {value!r}")
        if role in issuers:
            raise ValueError(f"--oidc-issuer names {role} twice")
        issuers[role] = check_issuer_url(url.strip())
    return issuers


@dataclass
class Issuer:
    """One trusted issuer: its discovery document and cached keys, and whether it answered last time we asked."""

    role: str
    url: str
    jwks_uri: str = ""
    keys: KeySet | None = None
    reachable: bool = True
    last_error: str = ""
    last_fetch: float = 0.0
    fresh_until: float = 0.0  # monotonic: the key set is fetched again from then on (see KEYS_MAX_AGE)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def load(self, client: httpx.Client) -> None:
        """Discovery, then the JWKS; IssuerUnreachable in one line when either fails."""
        try:
            response = client.get(f"{self.url}/.well-known/openid-configuration")
            response.raise_for_status()
            document = response.json()
            if document.get("issuer", "").rstrip("/") != self.url:
                raise IssuerUnreachable(f"{self.url} names another issuer in its discovery document: {document.get('issuer')!r}")
            self.jwks_uri = document["jwks_uri"]
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as error:
            raise IssuerUnreachable(f"cannot read the discovery document of {self.url}: {_why(error)}") from None
        self.refresh_keys(client)

    def refresh_keys(self, client: httpx.Client) -> None:
        """Fetch the key set again; on any failure the cached keys stay, and the next try waits REFETCH_COOLDOWN."""
        self.last_fetch = time.monotonic()
        self.fresh_until = self.last_fetch + REFETCH_COOLDOWN
        try:
            body, max_age = _fetch_bounded(client, self.jwks_uri)
            document = json.loads(body)
            listed = document.get("keys") if isinstance(document, dict) else None
            if not isinstance(listed, list):
                raise ValueError("the key set has no list of keys")
            if len(listed) > JWKS_MAX_KEYS:
                raise ValueError(f"the key set holds {len(listed)} keys, more than the {JWKS_MAX_KEYS} accepted")
            keys = KeySet.import_key_set(document)
        except (httpx.HTTPError, ValueError, KeyError, TypeError, AttributeError, jose_errors.JoseError) as error:
            self.reachable = False
            self.last_error = _why(error)
            raise IssuerUnreachable(f"cannot fetch the keys of {self.url}: {self.last_error}") from None
        self.keys = keys
        self.reachable = True
        self.last_error = ""
        self.fresh_until = self.last_fetch + min(
            max(max_age if max_age is not None else KEYS_MAX_AGE, KEYS_MIN_AGE), KEYS_MAX_AGE
        )


def _fetch_bounded(client: httpx.Client, url: str) -> tuple[bytes, float | None]:
    """The body (at most JWKS_MAX_BYTES, else ValueError, read no further) and the Cache-Control max-age, if any."""
    with client.stream("GET", url) as response:
        response.raise_for_status()
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > JWKS_MAX_BYTES:
            raise ValueError(f"the key set is {int(declared)} bytes, more than the {JWKS_MAX_BYTES} accepted")
        body = bytearray()
        for chunk in response.iter_bytes():
            body += chunk
            if len(body) > JWKS_MAX_BYTES:
                raise ValueError(f"the key set is larger than the {JWKS_MAX_BYTES} bytes accepted")
        return bytes(body), _max_age(response.headers.get("cache-control", ""))


def _max_age(cache_control: str) -> float | None:
    """Seconds from Cache-Control (no-cache and no-store are 0), or None when it says nothing about age."""
    lowered = cache_control.lower()
    if "no-store" in lowered or "no-cache" in lowered:
        return 0.0
    found = re.search(r"(?:^|[,\s])max-age\s*=\s*\"?(\d{1,10})", lowered)
    return float(found.group(1)) if found else None


def _why(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__


class Verifier:
    """The trusted issuers of one backend: fetched at start, keys cached, an unknown kid refetched once."""

    def __init__(self, issuers: dict[str, str], audience: str, *, client: httpx.Client | None = None) -> None:
        self.audience = audience
        self.recheck_after = 30.0  # seconds: how stale a key set /health tolerates before asking the issuer again
        self.issuers = {url: Issuer(role, url) for role, url in issuers.items()}
        self._client = client or httpx.Client(timeout=FETCH_TIMEOUT, follow_redirects=False)

    def start(self) -> Verifier:
        """Fetch every issuer's discovery document and keys; IssuerUnreachable names the first that fails."""
        for issuer in self.issuers.values():
            issuer.load(self._client)
        return self

    def role_of(self, url: str) -> str | None:
        issuer = self.issuers.get(url)
        return issuer.role if issuer else None

    def health(self) -> dict[str, str]:
        """Per role: whether the issuer answered when we last asked; a gone issuer means we serve on cached keys."""
        return {
            issuer.role: "answers" if issuer.reachable else f"does not answer ({issuer.last_error}); serving on cached keys"
            for issuer in self.issuers.values()
        }

    def recheck(self) -> None:
        """Refetch keys older than `recheck_after` seconds (from /health), keeping the cached ones on failure."""
        for issuer in self.issuers.values():
            if time.monotonic() - issuer.last_fetch >= self.recheck_after and issuer.lock.acquire(blocking=False):
                try:
                    issuer.refresh_keys(self._client)
                except IssuerUnreachable as error:
                    log.warning("%s", error)
                finally:
                    issuer.lock.release()

    def verify(self, token: str) -> tuple[Issuer, dict[str, Any]]:
        """The issuer and the checked claims of an access token, or TokenRefused."""
        header, unverified = _peek(token)
        alg = header.get("alg")
        if alg not in ALGORITHMS:
            raise TokenRefused(f"Token algorithm {str(alg)[:20]!r} is not accepted (only {' and '.join(ALGORITHMS)})")
        issuer = self.issuers.get(str(unverified.get("iss", "")).rstrip("/"))
        if issuer is None or issuer.keys is None:
            raise TokenRefused("The token's issuer is not trusted by this server")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise TokenRefused("The token names no key (kid)")
        if time.monotonic() >= issuer.fresh_until:
            self._refresh_stale(issuer)
        if not _has_kid(issuer.keys, kid):
            self._refetch_for(issuer, kid)
        try:
            decoded = jwt.decode(token, issuer.keys, algorithms=list(ALGORITHMS))
        except jose_errors.JoseError as error:
            raise TokenRefused(f"The token's signature does not verify ({error.error})") from None
        claims = dict(decoded.claims)
        self._check_claims(issuer, claims)
        return issuer, claims

    def _refresh_stale(self, issuer: Issuer) -> None:
        # The cache lifetime is over: fetch again, so a withdrawn key stops verifying. One request fetches while
        # the others verify on the keys at hand; a failure keeps those (and waits REFETCH_COOLDOWN to ask again).
        if not issuer.lock.acquire(blocking=False):
            return
        try:
            if time.monotonic() >= issuer.fresh_until:
                issuer.refresh_keys(self._client)
        except IssuerUnreachable as error:
            log.warning("%s", error)
        finally:
            issuer.lock.release()

    def _refetch_for(self, issuer: Issuer, kid: str) -> None:
        # Key rotation: the issuer may have published a new key since we fetched. Ask once, then refuse.
        with issuer.lock:
            if not _has_kid(issuer.keys, kid) and time.monotonic() - issuer.last_fetch >= REFETCH_COOLDOWN:
                try:
                    issuer.refresh_keys(self._client)
                except IssuerUnreachable as error:
                    log.warning("%s", error)  # keep serving on the cached keys
        if not _has_kid(issuer.keys, kid):
            raise TokenRefused("The token is signed with a key the issuer does not publish")

    def _check_claims(self, issuer: Issuer, claims: dict[str, Any]) -> None:
        at = int(now().timestamp())
        registry = jwt.JWTClaimsRegistry(
            now=at,
            leeway=LEEWAY,
            iss={"essential": True, "value": issuer.url},
            exp={"essential": True},
            sub={"essential": True},
        )
        iat = claims.get("iat")
        # Before the registry: it says «invalid claim» for every claim alike, and a future iat is its own reason.
        if iat is not None and not isinstance(iat, bool) and isinstance(iat, (int, float)) and iat > at + LEEWAY:
            raise TokenRefused("The token claims to be issued in the future")
        try:
            registry.validate(claims)
        except jose_errors.ExpiredTokenError:
            raise TokenRefused("The token has expired") from None
        except jose_errors.MissingClaimError as error:
            raise TokenRefused(f"The token has no {error.claim} claim") from None
        except jose_errors.ClaimError as error:
            # Only a future nbf means «not valid yet»; any other claim names itself (exp not a number, iss, sub).
            if error.claim == "nbf" and "not yet valid" in (error.description or ""):
                raise TokenRefused("The token is not valid yet") from None
            raise TokenRefused(f"The token's {error.claim} claim is not acceptable ({error.description})") from None
        except jose_errors.JoseError as error:
            raise TokenRefused(f"The token's claims are not acceptable ({error.description or error.error})") from None
        audience = claims.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if self.audience not in audiences:
            raise TokenRefused(f"The token is not meant for this server (audience is not {self.audience!r})")
        if iat is not None and (isinstance(iat, bool) or not isinstance(iat, (int, float))):
            raise TokenRefused("The token's iat claim is not a number")


def _peek(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The header and payload, unverified: only to pick the issuer and key; nothing is trusted before the signature."""
    from joserfc.util import urlsafe_b64decode

    parts = token.split(".")
    if len(parts) != 3:
        raise TokenRefused("The token is not a signed JWT")
    try:
        header = json.loads(urlsafe_b64decode(parts[0].encode("ascii")))
        payload = json.loads(urlsafe_b64decode(parts[1].encode("ascii")))
    except (ValueError, UnicodeError):
        raise TokenRefused("The token is not a signed JWT") from None
    if not isinstance(header, dict) or not isinstance(payload, dict):
        raise TokenRefused("The token is not a signed JWT")
    return header, payload


def _has_kid(keys: KeySet | None, kid: str) -> bool:
    return keys is not None and any(key.kid == kid for key in keys.keys)


def looks_like_jwt(token: str) -> bool:
    """A compact JWS: three base64url parts, the header a JSON object ("eyJ")."""
    return token.startswith("eyJ") and token.count(".") == 2


def scopes(claims: dict[str, Any]) -> set[str]:
    value = claims.get("scope", "")
    if isinstance(value, list):
        return {str(s) for s in value}
    return set(str(value).split())
