"""OpenID Connect, the protocol side (Authlib and joserfc): discovery, the authorization URL with
PKCE, the code-for-token exchange and ID token validation.

No web framework and no database here: oidc_flow.py keeps the flow's state in the session and
decides what a validated sign-in means for accounts. Nothing here logs a token, a code or an
email.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx2
import structlog
from authlib.common.security import generate_token
from authlib.integrations.base_client import OAuthError
from authlib.integrations.httpx_client import AsyncOAuth2Client
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import (
    BadSignatureError,
    ExpiredTokenError,
    InvalidClaimError,
    InvalidKeyIdError,
    JoseError,
    MissingClaimError,
)
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry

from portal import runtime
from portal.errors import PortalError
from portal.settings import OidcProvider

log = structlog.get_logger("portal.sso")

# Asymmetric algorithms only: an HS256 ID token would be signed with the client secret, which
# this portal does not accept as a verification key, and "none" is never acceptable.
SIGNING_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
LEEWAY_S = 60  # clock skew allowed between the provider and this server


class SsoRefused(PortalError):
    """A sign-in that must not go on; `message` is for the person, `reason` for logs and tests."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class ProviderMetadata:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    algorithms: tuple[str, ...]
    token_auth_methods: tuple[str, ...]


_metadata: dict[str, tuple[float, ProviderMetadata]] = {}
_jwks: dict[str, tuple[float, dict[str, Any]]] = {}


def forget_cached() -> None:
    """Drop every provider's discovery and keys (tests, and a process told to re-read them)."""
    _metadata.clear()
    _jwks.clear()


def _unreachable(provider: OidcProvider) -> SsoRefused:
    return SsoRefused(
        "provider_unreachable",
        f"We could not reach {provider.name} just now. Try again in a moment.",
    )


async def _get_json(provider: OidcProvider, url: str) -> dict[str, Any]:
    timeout = runtime.current().settings.oidc.http_timeout_s
    try:
        async with httpx2.AsyncClient(timeout=timeout, follow_redirects=False) as client:
            response = await client.get(url, headers={"Accept": "application/json"})
            response.raise_for_status()
            data = response.json()
    except (httpx2.HTTPError, ValueError) as exc:
        log.warning("sso provider request failed", provider=provider.key, error=type(exc).__name__)
        raise _unreachable(provider) from exc
    if not isinstance(data, dict):
        raise _unreachable(provider)
    return data


async def metadata(provider: OidcProvider) -> ProviderMetadata:
    """The provider's discovery document, kept per process for `metadata_ttl_s`."""
    cached = _metadata.get(provider.issuer)
    if cached and cached[0] > time.monotonic():
        return cached[1]
    doc = await _get_json(provider, f"{provider.issuer}/.well-known/openid-configuration")
    # Discovery must name the issuer it was read from (OpenID Connect Discovery §4.3): otherwise
    # a provider could hand out tokens in another issuer's name.
    if doc.get("issuer") != provider.issuer:
        log.warning("sso discovery names another issuer", provider=provider.key)
        raise SsoRefused(
            "discovery_issuer", f"{provider.name} is not set up correctly for this portal."
        )
    try:
        meta = ProviderMetadata(
            issuer=doc["issuer"],
            authorization_endpoint=doc["authorization_endpoint"],
            token_endpoint=doc["token_endpoint"],
            jwks_uri=doc["jwks_uri"],
            algorithms=tuple(
                a
                for a in doc.get("id_token_signing_alg_values_supported") or ["RS256"]
                if a in SIGNING_ALGORITHMS
            ),
            token_auth_methods=tuple(
                doc.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
            ),
        )
    except KeyError as exc:
        raise SsoRefused(
            "discovery_incomplete", f"{provider.name} is not set up correctly for this portal."
        ) from exc
    ttl = runtime.current().settings.oidc.metadata_ttl_s
    _metadata[provider.issuer] = (time.monotonic() + ttl, meta)
    return meta


async def key_set(provider: OidcProvider, meta: ProviderMetadata, refresh: bool = False) -> dict:
    """The provider's signing keys (JWKS), kept like its discovery; `refresh` re-reads them
    (a key id we do not know yet usually means the provider rotated its keys)."""
    cached = _jwks.get(provider.issuer)
    if cached and cached[0] > time.monotonic() and not refresh:
        return cached[1]
    doc = await _get_json(provider, meta.jwks_uri)
    ttl = runtime.current().settings.oidc.metadata_ttl_s
    _jwks[provider.issuer] = (time.monotonic() + ttl, doc)
    return doc


@dataclass(frozen=True)
class AuthRequest:
    """What the callback needs to check the answer: kept in the server-side session only."""

    url: str
    state: str
    nonce: str
    code_verifier: str


def authorization_request(
    provider: OidcProvider, meta: ProviderMetadata, redirect_uri: str
) -> AuthRequest:
    """The authorization code request with PKCE (S256), a fresh state and a fresh nonce."""
    state, nonce, verifier = generate_token(32), generate_token(32), generate_token(64)
    url = prepare_grant_uri(
        meta.authorization_endpoint,
        client_id=provider.client_id,
        response_type="code",
        redirect_uri=redirect_uri,
        scope=" ".join(provider.scopes),
        state=state,
        nonce=nonce,
        code_challenge=create_s256_code_challenge(verifier),
        code_challenge_method="S256",
    )
    return AuthRequest(url=url, state=state, nonce=nonce, code_verifier=verifier)


def _auth_method(provider: OidcProvider, meta: ProviderMetadata) -> str:
    if not provider.client_secret:
        return "none"
    if "client_secret_basic" in meta.token_auth_methods:
        return "client_secret_basic"
    return "client_secret_post"


async def exchange_code(
    provider: OidcProvider, meta: ProviderMetadata, code: str, verifier: str, redirect_uri: str
) -> Mapping[str, Any]:
    """Trade the authorization code (and the PKCE verifier) for tokens at the token endpoint."""
    timeout = runtime.current().settings.oidc.http_timeout_s
    client = AsyncOAuth2Client(
        client_id=provider.client_id,
        client_secret=provider.client_secret,
        token_endpoint_auth_method=_auth_method(provider, meta),
        timeout=timeout,
    )
    try:
        async with client:
            token = await client.fetch_token(
                meta.token_endpoint,
                grant_type="authorization_code",
                code=code,
                code_verifier=verifier,
                redirect_uri=redirect_uri,
            )
    except OAuthError as exc:
        # invalid_grant: the code was used already, has expired, or was issued to another
        # request (PKCE); the provider does not say which, and neither do we.
        log.info("sso token refused", provider=provider.key, error=exc.error)
        raise SsoRefused(
            "code_refused",
            f"{provider.name} did not accept this sign-in: the link was already used or has "
            "expired. Start again.",
        ) from exc
    except (httpx2.HTTPError, ValueError) as exc:
        log.warning("sso token request failed", provider=provider.key, error=type(exc).__name__)
        raise _unreachable(provider) from exc
    if not token.get("id_token"):
        raise SsoRefused(
            "no_id_token", f"{provider.name} did not send an identity with its answer."
        )
    return dict(token)


def validate_id_token(
    id_token: str,
    *,
    keys: Mapping[str, Any],
    issuer: str,
    client_id: str,
    nonce: str,
    algorithms: tuple[str, ...] = ("RS256",),
    access_token: str | None = None,
    now: int | None = None,
    provider_name: str = "Your identity provider",
) -> dict[str, Any]:
    """The ID token's claims once its signature (against the provider's keys), issuer,
    audience, expiry and nonce are checked (OpenID Connect Core §3.1.3.7)."""
    try:
        token = jwt.decode(
            id_token,
            KeySet.import_key_set(dict(keys)),  # type: ignore[arg-type]
            registry=JWSRegistry(algorithms=list(algorithms), strict_check_header=False),
        )
    except InvalidKeyIdError:
        raise  # the caller re-reads the provider's keys once and tries again
    except (BadSignatureError, JoseError, ValueError) as exc:
        raise SsoRefused(
            "bad_signature",
            f"The answer from {provider_name} could not be verified (its signature does not "
            "match the provider's keys). Start again; if it keeps happening, tell your "
            "administrator.",
        ) from exc
    claims = CodeIDToken(
        token.claims,
        token.header,
        options={
            "iss": {"essential": True, "value": issuer},
            "aud": {"essential": True, "value": client_id},
            "sub": {"essential": True},
            "exp": {"essential": True},
        },
        params={"nonce": nonce, "client_id": client_id, "access_token": access_token},
    )
    try:
        claims.validate(now=now, leeway=LEEWAY_S)
    except ExpiredTokenError as exc:
        raise SsoRefused(
            "expired", f"The sign-in from {provider_name} has expired. Start again."
        ) from exc
    except (InvalidClaimError, MissingClaimError) as exc:
        raise _claim_refusal(exc.claim, provider_name) from exc
    except JoseError as exc:  # e.g. issued in the future
        raise SsoRefused(
            "invalid_claims", f"The answer from {provider_name} is not valid. Start again."
        ) from exc
    return dict(claims)


def _claim_refusal(claim: str, provider_name: str) -> SsoRefused:
    if claim == "nonce":
        return SsoRefused(
            "nonce",
            f"This answer from {provider_name} does not belong to the sign-in you started "
            "here. Start again.",
        )
    if claim in ("iss", "aud", "azp"):
        return SsoRefused(
            claim,
            f"This answer from {provider_name} was issued for another site or by another "
            "provider. Start again.",
        )
    return SsoRefused(f"claim_{claim}", f"The answer from {provider_name} is not valid.")


async def verified_claims(
    provider: OidcProvider, meta: ProviderMetadata, token: Mapping[str, Any], nonce: str
) -> dict[str, Any]:
    """Validate the token response's ID token against the provider's current keys."""
    checks = {
        "issuer": meta.issuer,
        "client_id": provider.client_id,
        "nonce": nonce,
        "algorithms": meta.algorithms,
        "access_token": token.get("access_token"),
        "provider_name": provider.name,
    }
    try:
        return validate_id_token(token["id_token"], keys=await key_set(provider, meta), **checks)
    except InvalidKeyIdError:
        keys = await key_set(provider, meta, refresh=True)
        try:
            return validate_id_token(token["id_token"], keys=keys, **checks)
        except InvalidKeyIdError as exc:
            raise SsoRefused(
                "bad_signature",
                f"The answer from {provider.name} is signed with a key it does not publish. "
                "Start again; if it keeps happening, tell your administrator.",
            ) from exc


def email_of(provider: OidcProvider, claims: Mapping[str, Any]) -> tuple[str | None, bool]:
    """The address the provider asserts and whether it says it checked it."""
    email = claims.get("email")
    if not isinstance(email, str) or not email.strip():
        return None, False
    verified = claims.get("email_verified")
    # Some providers send the JSON string "true" rather than a boolean.
    return email.strip(), provider.trust_email or verified is True or verified == "true"
