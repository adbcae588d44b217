"""Every setting the portal reads, in one typed place, loaded from the environment.

A newcomer runs the portal with no environment at all: the defaults are the embedded mode
(SQLite file under ./var, in-process jobs, local outbox). Setting DATABASE_URL, REDIS_URL and
SMTP_URL switches to the full mode.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

REPO_ROOT = Path(__file__).resolve().parent.parent

Plan = Literal["free", "pro"]
PLANS: tuple[Plan, ...] = ("free", "pro")
ROLES = ("member", "employer", "consultant", "admin")


def _bool(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ValueError(f"{name} must be an integer, got {raw!r}") from exc


@dataclass(frozen=True)
class DatabaseSettings:
    url: str
    auto_migrate: bool
    pool_max_size: int = 20

    @property
    def is_sqlite(self) -> bool:
        return self.url.startswith("sqlite")

    @property
    def sqlite_path(self) -> Path:
        # sqlite:///relative/path or sqlite:////absolute/path
        return Path(self.url.split("sqlite:///", 1)[1])


@dataclass(frozen=True)
class RedisSettings:
    url: str | None
    prefix: str

    @property
    def queue_name(self) -> str:
        return f"{self.prefix}arq:queue"


@dataclass(frozen=True)
class MailSettings:
    smtp_url: str | None
    sender: str
    smtp_timeout_s: float = 10.0


@dataclass(frozen=True)
class MeterRule:
    """How many units a plan gets and over which window."""

    limit: int | None  # None: unlimited
    window: Literal["rolling", "calendar_month"] = "rolling"
    window_days: int = 30


@dataclass(frozen=True)
class MeterPolicy:
    """Meter name -> plan key ("guest", "free", "pro") -> rule."""

    rules: Mapping[str, Mapping[str, MeterRule]]
    repeat_free_hours: int = 24

    def rule(self, meter: str, plan_key: str) -> MeterRule:
        try:
            return self.rules[meter][plan_key]
        except KeyError as exc:
            raise KeyError(f"no meter rule for {meter!r} / {plan_key!r}") from exc


CODE_PAGE_VIEWS = "code_page_views"
CASEPILOT_QUESTIONS = "casepilot_questions"
CONSULTS = "consults"


@dataclass(frozen=True)
class ConsultSettings:
    """CaseConsultant: where consult mail goes, how fast answers are due, instant mode."""

    address: str = "consult@portal.localhost"  # the shared address; personal: consult+TOKEN@...
    # Drafts at least this confident go out without a consultant's review ("instant" mode).
    instant: bool = False
    instant_min_confidence: float = 0.9
    due_hours: Mapping[str, int] = field(default_factory=lambda: {"free": 72, "pro": 24})
    held_mail_hours: int = 48  # a mail to the shared address waits this long for confirmation
    max_text_chars: int = 50_000
    max_attachments: int = 5

    def personal_address(self, token: str) -> str:
        local, _, domain = self.address.partition("@")
        return f"{local}+{token}@{domain}"


@dataclass(frozen=True)
class CareerSettings:
    """CareerCenter: how long a posting lives, how many an employer may run, upload sizes."""

    posting_days: int = 30
    active_postings: Mapping[str, int] = field(default_factory=lambda: {"free": 1, "pro": 10})
    max_upload_bytes: int = 5 * 1024 * 1024


@dataclass(frozen=True)
class AssistantSettings:
    """CasePilot's LLM engine: any OpenAI-compatible chat-completions endpoint. Without a base
    URL the offline engine answers every question."""

    llm_base_url: str | None = None  # "https://api.example.com/v1"
    llm_api_key: str | None = field(default=None, repr=False)
    llm_model: str = "gpt-4o-mini"
    llm_timeout_s: float = 30.0
    llm_max_tool_rounds: int = 4

    @property
    def llm_enabled(self) -> bool:
        return bool(self.llm_base_url)


@dataclass(frozen=True)
class SecuritySettings:
    secret_key: str
    session_max_age_s: int = 14 * 24 * 3600
    guest_cookie_max_age_s: int = 400 * 24 * 3600
    verify_token_max_age_s: int = 48 * 3600
    reset_token_max_age_s: int = 3600
    login_max_failures_per_account: int = 5
    login_max_failures_per_address: int = 20
    login_throttle_window_s: int = 15 * 60
    argon2_profile: Literal["default", "cheapest"] = "default"
    max_request_body_bytes: int = 1024 * 1024
    trusted_proxies: tuple[str, ...] = ()
    # How long a process may serve a signed-in account (plan, role, disabled) as it last read it;
    # changes made through the service show at once in the process that made them.
    account_cache_s: float = 3.0
    api_requests_per_minute: int = 120  # per client address, on /api/
    # Form posts that cost a mail or an account, counted per client address (or per email for
    # reset links) over a fixed window: past the limit the page answers 429 with Retry-After.
    register_per_address: int = 10
    reset_per_address: int = 10
    reset_per_email: int = 5  # stops one inbox being flooded with reset mail from many addresses
    form_limit_window_s: int = 3600
    audit_retention_days: int = 400  # audit rows older than this are deleted daily; 0: kept


@dataclass(frozen=True)
class OidcProvider:
    """One OpenID Connect identity provider, shown as "Continue with {name}"."""

    key: str  # the URL's /account/sso/{key}; lower-case letters, digits and dashes
    name: str
    issuer: str  # discovery is read from {issuer}/.well-known/openid-configuration
    client_id: str
    client_secret: str | None = field(default=None, repr=False)  # None: a public client (PKCE)
    scopes: tuple[str, ...] = ("openid", "email", "profile")
    # The operator vouches that this provider only asserts addresses it has checked (for those
    # that never send `email_verified`, such as some Entra ID tenants).
    trust_email: bool = False


@dataclass(frozen=True)
class OidcSettings:
    providers: tuple[OidcProvider, ...] = ()
    http_timeout_s: float = 10.0  # discovery, keys and the token call
    metadata_ttl_s: int = 3600  # how long a process keeps a provider's discovery and keys

    def provider(self, key: str) -> OidcProvider | None:
        return next((p for p in self.providers if p.key == key), None)


@dataclass(frozen=True)
class Settings:
    base_url: str
    host: str
    port: int
    debug: bool
    state_dir: Path
    data_dir: Path
    jobs_backend: Literal["inprocess", "arq"]
    log_level: str
    log_json: bool
    database: DatabaseSettings
    redis: RedisSettings
    mail: MailSettings
    security: SecuritySettings
    meters: MeterPolicy = field(repr=False)
    # Search results kept per process for repeated queries (0: none); the index is read-only,
    # so an entry is good until the index is replaced after an import.
    search_cache_size: int = 4096
    assistant: AssistantSettings = field(default_factory=AssistantSettings)
    consult: ConsultSettings = field(default_factory=ConsultSettings)
    careers: CareerSettings = field(default_factory=CareerSettings)
    oidc: OidcSettings = field(default_factory=OidcSettings)

    @property
    def secure_cookies(self) -> bool:
        return self.base_url.startswith("https://")

    @property
    def mode(self) -> Literal["embedded", "full"]:
        return "embedded" if self.database.is_sqlite and not self.redis.url else "full"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        state_dir = Path(env.get("PORTAL_STATE_DIR") or REPO_ROOT / "var")
        port = _int(env, "PORT", 8000)
        host = env.get("HOST", "127.0.0.1")
        database_url = env.get("DATABASE_URL") or f"sqlite:///{state_dir / 'portal.sqlite3'}"
        redis_url = env.get("REDIS_URL") or None
        jobs_backend = env.get("JOBS_BACKEND") or ("arq" if redis_url else "inprocess")
        if jobs_backend not in ("inprocess", "arq"):
            raise ValueError("JOBS_BACKEND must be 'inprocess' or 'arq'")
        if jobs_backend == "arq" and not redis_url:
            raise ValueError("JOBS_BACKEND=arq needs REDIS_URL")
        meters = MeterPolicy(
            rules={
                CODE_PAGE_VIEWS: {
                    "guest": MeterRule(
                        limit=_int(env, "METER_CODE_VIEWS_GUEST", 1),
                        window="rolling",
                        window_days=_int(env, "METER_GUEST_WINDOW_DAYS", 30),
                    ),
                    "free": MeterRule(
                        limit=_int(env, "METER_CODE_VIEWS_FREE", 5), window="calendar_month"
                    ),
                    "pro": MeterRule(limit=None),
                },
                CONSULTS: {
                    "guest": MeterRule(limit=0),
                    "free": MeterRule(
                        limit=_int(env, "METER_CONSULTS_FREE", 1), window="calendar_month"
                    ),
                    "pro": MeterRule(
                        limit=_int(env, "METER_CONSULTS_PRO", 20), window="calendar_month"
                    ),
                },
                CASEPILOT_QUESTIONS: {
                    "guest": MeterRule(limit=_int(env, "METER_QUESTIONS_GUEST", 3), window_days=1),
                    "free": MeterRule(limit=_int(env, "METER_QUESTIONS_FREE", 20), window_days=1),
                    "pro": MeterRule(limit=_int(env, "METER_QUESTIONS_PRO", 500), window_days=1),
                },
            },
            repeat_free_hours=_int(env, "METER_REPEAT_FREE_HOURS", 24),
        )
        profile = env.get("ARGON2_PROFILE", "default")
        if profile not in ("default", "cheapest"):
            raise ValueError("ARGON2_PROFILE must be 'default' or 'cheapest'")
        return cls(
            base_url=(env.get("BASE_URL") or f"http://{host}:{port}").rstrip("/"),
            host=host,
            port=port,
            debug=_bool(env.get("DEBUG"), False),
            state_dir=state_dir,
            data_dir=Path(env.get("PORTAL_DATA_DIR") or REPO_ROOT.parent / "shared" / "data"),
            jobs_backend=jobs_backend,  # type: ignore[arg-type]
            log_level=env.get("LOG_LEVEL", "INFO").upper(),
            log_json=_bool(env.get("LOG_JSON"), not _bool(env.get("DEBUG"), False)),
            database=DatabaseSettings(
                url=database_url,
                auto_migrate=_bool(env.get("AUTO_MIGRATE"), database_url.startswith("sqlite")),
                pool_max_size=_int(env, "DATABASE_POOL_MAX", 20),
            ),
            redis=RedisSettings(url=redis_url, prefix=env.get("REDIS_PREFIX", "portal:")),
            mail=MailSettings(
                smtp_url=env.get("SMTP_URL") or None,
                sender=env.get("MAIL_FROM", "Coding Portal <no-reply@portal.localhost>"),
            ),
            security=SecuritySettings(
                secret_key=env.get("SECRET_KEY") or _local_secret(state_dir),
                argon2_profile=profile,  # type: ignore[arg-type]
                max_request_body_bytes=_int(env, "MAX_REQUEST_BODY_BYTES", 1024 * 1024),
                account_cache_s=float(env.get("ACCOUNT_CACHE_S") or 3.0),
                api_requests_per_minute=_int(env, "API_RATE_LIMIT", 120),
                login_max_failures_per_account=_int(env, "LOGIN_MAX_FAILURES_PER_ACCOUNT", 5),
                login_max_failures_per_address=_int(env, "LOGIN_MAX_FAILURES_PER_ADDRESS", 20),
                login_throttle_window_s=_int(env, "LOGIN_THROTTLE_WINDOW_S", 15 * 60),
                register_per_address=_int(env, "REGISTER_LIMIT_PER_ADDRESS", 10),
                reset_per_address=_int(env, "RESET_LIMIT_PER_ADDRESS", 10),
                reset_per_email=_int(env, "RESET_LIMIT_PER_EMAIL", 5),
                form_limit_window_s=_int(env, "FORM_LIMIT_WINDOW_S", 3600),
                audit_retention_days=_int(env, "AUDIT_RETENTION_DAYS", 400),
                trusted_proxies=tuple(
                    p.strip() for p in env.get("TRUSTED_PROXIES", "").split(",") if p.strip()
                ),
            ),
            meters=meters,
            search_cache_size=_int(env, "SEARCH_CACHE_SIZE", 4096),
            careers=CareerSettings(
                posting_days=_int(env, "CAREERS_POSTING_DAYS", 30),
                active_postings={
                    "free": _int(env, "CAREERS_ACTIVE_POSTINGS_FREE", 1),
                    "pro": _int(env, "CAREERS_ACTIVE_POSTINGS_PRO", 10),
                },
            ),
            consult=ConsultSettings(
                address=(env.get("CONSULT_ADDRESS") or "consult@portal.localhost").lower(),
                instant=_bool(env.get("CONSULT_INSTANT"), False),
                instant_min_confidence=float(env.get("CONSULT_INSTANT_MIN_CONFIDENCE") or 0.9),
                due_hours={
                    "free": _int(env, "CONSULT_DUE_HOURS_FREE", 72),
                    "pro": _int(env, "CONSULT_DUE_HOURS_PRO", 24),
                },
            ),
            assistant=AssistantSettings(
                llm_base_url=(env.get("LLM_BASE_URL") or "").rstrip("/") or None,
                llm_api_key=env.get("LLM_API_KEY") or None,
                llm_model=env.get("LLM_MODEL") or "gpt-4o-mini",
                llm_timeout_s=float(env.get("LLM_TIMEOUT_S") or 30.0),
            ),
            oidc=_oidc_settings(env),
        )


# Paths under /account/sso/ that are not providers.
_RESERVED_SSO_KEYS = frozenset({"link", "identities"})


def _oidc_settings(env: Mapping[str, str]) -> OidcSettings:
    """OIDC_PROVIDERS=acme,okta, then OIDC_ACME_ISSUER, OIDC_ACME_CLIENT_ID, ... per provider."""
    providers = []
    for key in (k.strip().lower() for k in env.get("OIDC_PROVIDERS", "").split(",")):
        if not key:
            continue
        if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,39}", key) or key in _RESERVED_SSO_KEYS:
            raise ValueError(f"OIDC_PROVIDERS: {key!r} is not a usable provider key")
        prefix = f"OIDC_{key.upper().replace('-', '_')}_"
        issuer = (env.get(prefix + "ISSUER") or "").strip().rstrip("/")
        client_id = (env.get(prefix + "CLIENT_ID") or "").strip()
        if not issuer or not client_id:
            raise ValueError(f"{prefix}ISSUER and {prefix}CLIENT_ID must be set")
        parts = urlsplit(issuer)
        loopback = parts.hostname in ("localhost", "127.0.0.1", "::1")
        if parts.scheme != "https" and not (parts.scheme == "http" and loopback):
            raise ValueError(f"{prefix}ISSUER must be an https:// address")
        scopes = tuple(
            (env.get(prefix + "SCOPES") or "openid email profile").replace(",", " ").split()
        )
        providers.append(
            OidcProvider(
                key=key,
                name=(env.get(prefix + "NAME") or key.replace("-", " ").title()).strip(),
                issuer=issuer,
                client_id=client_id,
                client_secret=env.get(prefix + "CLIENT_SECRET") or None,
                scopes=scopes if "openid" in scopes else ("openid", *scopes),
                trust_email=_bool(env.get(prefix + "TRUST_EMAIL"), False),
            )
        )
    if len({p.key for p in providers}) != len(providers):
        raise ValueError("OIDC_PROVIDERS names a provider twice")
    return OidcSettings(
        providers=tuple(providers),
        http_timeout_s=float(env.get("OIDC_HTTP_TIMEOUT_S") or 10.0),
        metadata_ttl_s=_int(env, "OIDC_METADATA_TTL_S", 3600),
    )


def _local_secret(state_dir: Path) -> str:
    """A per-installation secret for the embedded mode, kept beside the SQLite file.

    Production sets SECRET_KEY; a newcomer should not have to, and must not get a secret that
    is the same on every machine.
    """
    path = state_dir / "secret_key"
    state_dir.mkdir(parents=True, exist_ok=True)
    try:  # O_EXCL: two processes starting at once agree on the first one's secret
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings.from_env()
