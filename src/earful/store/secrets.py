"""``install_secret``: secrets an installation generates once and all its processes share
(the acknowledge-link signing key when ``EARFUL_SECRET_KEY`` is unset)."""

from __future__ import annotations

from sqlmodel import Field, SQLModel


class InstallSecret(SQLModel, table=True):
    """One generated secret of this installation, shared by all its processes."""

    __tablename__ = "install_secret"

    name: str = Field(primary_key=True, max_length=40)
    value: str = Field(max_length=200)
