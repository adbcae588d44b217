"""Password hashing (argon2id) and the password policy."""

from __future__ import annotations

from functools import lru_cache

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 10
MAX_LENGTH = 128  # hashing megabytes of "password" is a denial of service, not security

# The most common passwords of the right length; a real breach list would be better, but this
# catches what users type first.
_COMMON = frozenset(
    {
        "1234567890", "12345678910", "0123456789", "1111111111", "qwertyuiop",
        "password12", "password123", "password1234", "passw0rd123", "iloveyou12",
        "qwerty1234", "abcdefghij", "abc1234567", "letmein123", "welcome123",
        "changeme123", "administrator", "medicalcoder", "coding12345", "1q2w3e4r5t",
    }
)  # fmt: skip


@lru_cache(maxsize=2)
def hasher(profile: str = "default") -> PasswordHasher:
    if profile == "cheapest":  # tests only: the default costs ~135 ms a hash on this machine
        return PasswordHasher.from_parameters(profiles.CHEAPEST)
    return PasswordHasher.from_parameters(profiles.RFC_9106_LOW_MEMORY)


# Stored for an account created through single sign-on: not an argon2 hash, so no password
# verifies against it ("Forgot your password?" gives the account one).
UNUSABLE_PASSWORD = "!sso-only"  # noqa: S105 (a marker, not a secret)


def password_problem(password: str, email: str = "") -> str | None:
    """Why a new password is refused, or None when it is acceptable."""
    if len(password) < MIN_LENGTH:
        return f"Use at least {MIN_LENGTH} characters."
    if len(password) > MAX_LENGTH:
        return f"Use at most {MAX_LENGTH} characters."
    lowered = password.lower()
    if lowered in _COMMON or len(set(lowered)) < 4:
        return "This password is too easy to guess; choose a less common one."
    local = email.split("@", 1)[0].lower()
    if len(local) >= 4 and local in lowered:
        return "Do not use your email address in your password."
    return None


def hash_password(password: str, profile: str = "default") -> str:
    return hasher(profile).hash(password)


def verify_password(stored_hash: str, password: str, profile: str = "default") -> bool:
    if len(password) > MAX_LENGTH:
        return False
    try:
        return hasher(profile).verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str, profile: str = "default") -> bool:
    return hasher(profile).check_needs_rehash(stored_hash)


# Verified against when an email is unknown, so a miss costs the same time as a hit.
@lru_cache(maxsize=2)
def dummy_hash(profile: str = "default") -> str:
    return hash_password("not-a-real-password-0", profile)
