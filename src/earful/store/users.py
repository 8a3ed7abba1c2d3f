"""People who use the workspace: ``user`` rows with a role and an argon2 password hash.

Roles, each including the one before it::

    analyst   read everything, annotate mentions
    lead      also acknowledge / resolve / dismiss / assign escalations
    admin     also manage users and tokens

Repository functions take the caller's session and never commit. Passwords are hashed with
argon2id (pwdlib); :func:`authenticate` spends the same hashing work on an unknown name as on
a wrong password, so a timing difference does not tell which names exist.

API tokens (``api_token``) let programs call ``/api/*`` as a user (``Authorization: Bearer
TOKEN``): a token is shown once when created and stored only as its SHA-256 (it is 32 random
bytes, so a slow hash adds nothing); revoked tokens stay listed.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from datetime import datetime
from functools import lru_cache

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from sqlalchemy import UniqueConstraint
from sqlmodel import Field, Session, SQLModel, col, select

from earful.errors import EarfulError
from earful.store.types import utc_column

logger = logging.getLogger(__name__)

ROLES = ("analyst", "lead", "admin")
MIN_PASSWORD = 8


class UserError(EarfulError):
    """A user that cannot be added, found or changed; ``reason`` says why."""

    reason = "user"


class User(SQLModel, table=True):
    __tablename__ = "user"
    __table_args__ = (UniqueConstraint("name", name="uq_user_name"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)
    role: str = Field(max_length=20)
    email: str | None = Field(default=None, max_length=300)
    password_hash: str = Field(max_length=300)
    created_at: datetime = Field(sa_column=utc_column(nullable=False))
    password_changed_at: datetime | None = Field(default=None, sa_column=utc_column())


class ApiToken(SQLModel, table=True):
    __tablename__ = "api_token"
    __table_args__ = (UniqueConstraint("token_hash", name="uq_api_token_hash"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id")
    name: str = Field(default="", max_length=100)
    token_hash: str = Field(max_length=64)
    created_at: datetime = Field(sa_column=utc_column(nullable=False))
    last_used_at: datetime | None = Field(default=None, sa_column=utc_column())
    revoked_at: datetime | None = Field(default=None, sa_column=utc_column())


TOKEN_PREFIX = "earful_"


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(session: Session, *, name: str, label: str, now: datetime) -> tuple[ApiToken, str]:
    """A new token for user ``name``: the row and the token itself (shown once)."""
    user = get_user(session, name=name)
    if user is None or user.id is None:
        raise UserError(f"no user {name!r}", reason="not_found")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(user_id=user.id, name=label[:100], token_hash=_token_hash(token), created_at=now)
    session.add(row)
    session.flush()
    return row, token


def list_tokens(session: Session) -> list[tuple[ApiToken, str]]:
    rows = session.exec(
        select(ApiToken, User).where(ApiToken.user_id == User.id).order_by(col(ApiToken.id))
    ).all()
    return [(token, user.name) for token, user in rows]


def revoke_token(session: Session, *, token_id: int, now: datetime) -> None:
    row = session.get(ApiToken, token_id)
    if row is None:
        raise UserError(f"no token {token_id}", reason="not_found")
    if row.revoked_at is None:
        row.revoked_at = now
        session.add(row)


def user_for_token(session: Session, *, token: str, now: datetime) -> User | None:
    """The user a live (unrevoked) token belongs to, else None."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    digest = _token_hash(token)
    row = session.exec(select(ApiToken).where(ApiToken.token_hash == digest)).first()
    if row is None or row.revoked_at is not None or not hmac.compare_digest(row.token_hash, digest):
        return None
    row.last_used_at = now
    session.add(row)
    return session.get(User, row.user_id)


@lru_cache(maxsize=1)
def _hasher() -> PasswordHash:
    return PasswordHash((Argon2Hasher(),))


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return _hasher().hash("not-a-real-password")


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def role_at_least(role: str, needed: str) -> bool:
    """Whether ``role`` includes the rights of ``needed`` (admin > lead > analyst)."""
    return role in ROLES and ROLES.index(role) >= ROLES.index(needed)


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise UserError(f"password must be at least {MIN_PASSWORD} characters", reason="weak")


def _check_name(name: str) -> str:
    clean = name.strip()
    if not clean or len(clean) > 100 or any(c.isspace() for c in clean):
        raise UserError("a user name is 1-100 characters without spaces", reason="name")
    return clean


def get_user(session: Session, *, name: str) -> User | None:
    return session.exec(select(User).where(User.name == name)).first()


def list_users(session: Session) -> list[User]:
    return list(session.exec(select(User).order_by(col(User.name))).all())


def add_user(
    session: Session, *, name: str, role: str, password: str, now: datetime, email: str | None
) -> User:
    name = _check_name(name)
    if role not in ROLES:
        raise UserError(f"role must be one of {', '.join(ROLES)}", reason="role")
    _check_password(password)
    if get_user(session, name=name) is not None:
        raise UserError(f"user {name!r} exists", reason="exists")
    user = User(
        name=name,
        role=role,
        email=email or None,
        password_hash=hash_password(password),
        created_at=now,
        password_changed_at=now,
    )
    session.add(user)
    session.flush()
    return user


def remove_user(session: Session, *, name: str) -> None:
    """Remove the user and their API tokens."""
    user = get_user(session, name=name)
    if user is None:
        raise UserError(f"no user {name!r}", reason="not_found")
    for token in session.exec(select(ApiToken).where(ApiToken.user_id == user.id)).all():
        session.delete(token)
    session.flush()
    session.delete(user)


def set_password(session: Session, *, name: str, password: str, now: datetime) -> User:
    user = get_user(session, name=name)
    if user is None:
        raise UserError(f"no user {name!r}", reason="not_found")
    _check_password(password)
    user.password_hash = hash_password(password)
    user.password_changed_at = now
    session.add(user)
    return user


def authenticate(session: Session, *, name: str, password: str) -> User | None:
    """The user when ``password`` is theirs, else None (same work either way)."""
    user = get_user(session, name=name.strip())
    if user is None:
        _hasher().verify(password, _dummy_hash())
        return None
    ok, new_hash = _hasher().verify_and_update(password, user.password_hash)
    if not ok:
        return None
    if new_hash is not None:  # parameters were raised since this hash was made
        user.password_hash = new_hash
        session.add(user)
    return user


def session_stamp(user: User) -> str:
    """Changes whenever the password does: sessions carry it, so a new password logs out
    every other session of that user."""
    return user.password_hash[-12:]
