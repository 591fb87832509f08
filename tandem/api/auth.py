"""Password checks for ``host auth``: PAM in production, a file-backed check for tests.

Why a Protocol: the daemon must check the password of the system account
``hacluster`` through PAM, but tests must not change system passwords.  The
daemon takes any :class:`Authenticator`; ``tandemd-api --auth-backend
file:PATH`` selects :class:`PasswordFileAuthenticator` (scrypt hashes in a
0600 JSON file), which the lab tests use, and one lab test exercises real PAM
with a throwaway account.

As pcsd, a user may log in only if PAM accepts the password *and* the user is
``hacluster`` or a member of the ``haclient`` group.
"""

from __future__ import annotations

import base64
import grp
import hashlib
import json
import os
import pwd
import secrets
import subprocess
from pathlib import Path
from typing import Protocol

ADMIN_GROUP = "haclient"
ADMIN_USER = "hacluster"
PAM_SERVICES = ("tandem", "pcsd", "other")


class Authenticator(Protocol):
    """Checks a username/password pair; must never log or keep the password."""

    def authenticate(self, username: str, password: str) -> bool: ...


def user_is_admin(username: str) -> bool:
    """``hacluster`` or a member of ``haclient`` (pcsd's rule)."""
    if username == ADMIN_USER:
        return True
    try:
        group = grp.getgrnam(ADMIN_GROUP)
    except KeyError:
        return False
    if username in group.gr_mem:
        return True
    try:
        return pwd.getpwnam(username).pw_gid == group.gr_gid
    except KeyError:
        return False


def default_pam_service() -> str:
    """The first of tandem, pcsd, other that has a file in /etc/pam.d."""
    for name in PAM_SERVICES:
        if Path("/etc/pam.d", name).exists():
            return name
    return "other"


class PamAuthenticator:
    """The real check, through libpam (python-pam)."""

    def __init__(self, service: str | None = None, admin_check: bool = True) -> None:
        self.service = service or default_pam_service()
        self.admin_check = admin_check

    def authenticate(self, username: str, password: str) -> bool:
        import pam  # imported late: libpam is loaded only by the daemon

        if self.admin_check and not user_is_admin(username):
            return False
        p = pam.PamAuthenticator()
        return bool(p.authenticate(username, password, service=self.service))


# --------------------------------------------------------------------------- test backend

_SCRYPT = {"n": 2**14, "r": 8, "p": 1}


def hash_password(password: str, salt: bytes | None = None) -> str:
    """``scrypt$<salt b64>$<hash b64>`` (for the password-file backend)."""
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, dklen=32, **_SCRYPT)
    return "scrypt$" + base64.b64encode(salt).decode() + "$" + base64.b64encode(digest).decode()


def verify_password(password: str, stored: str) -> bool:
    try:
        kind, salt_b64, hash_b64 = stored.split("$")
        if kind != "scrypt":
            return False
        salt = base64.b64decode(salt_b64)
        expected = base64.b64decode(hash_b64)
    except ValueError:
        return False
    digest = hashlib.scrypt(password.encode(), salt=salt, dklen=32, **_SCRYPT)
    return secrets.compare_digest(digest, expected)


def write_password_file(path: Path, users: dict[str, str]) -> None:
    """Create a password file for :class:`PasswordFileAuthenticator` (mode 0600)."""
    from tandem.api.storage import write_private_json

    write_private_json(path, {u: hash_password(p) for u, p in users.items()})


class PasswordFileAuthenticator:
    """Users and scrypt hashes from a JSON file: the test daemon's stand-in for PAM."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def authenticate(self, username: str, password: str) -> bool:
        try:
            users = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return False
        stored = users.get(username) if isinstance(users, dict) else None
        return isinstance(stored, str) and verify_password(password, stored)


def make_authenticator(spec: str, pam_service: str | None = None) -> Authenticator:
    """``pam`` or ``file:PATH`` (the ``--auth-backend`` option)."""
    if spec == "pam":
        return PamAuthenticator(pam_service)
    if spec.startswith("file:"):
        return PasswordFileAuthenticator(Path(spec[5:]))
    raise ValueError(f"unknown auth backend {spec!r}: use 'pam' or 'file:PATH'")


def ensure_hacluster_account() -> bool:
    """Create the ``haclient`` group and ``hacluster`` system account, no password, when missing.

    Returns True when something was created.  Only meaningful as root.
    """
    created = False
    try:
        grp.getgrnam(ADMIN_GROUP)
    except KeyError:
        subprocess.run(["groupadd", "--system", ADMIN_GROUP], check=True, capture_output=True)
        created = True
    try:
        pwd.getpwnam(ADMIN_USER)
    except KeyError:
        subprocess.run(
            [
                "useradd", "--system", "--no-create-home", "--gid", ADMIN_GROUP,
                "--home-dir", "/var/lib/tandem", "--shell", "/usr/sbin/nologin",
                "--comment", "cluster user", ADMIN_USER,
            ],
            check=True,
            capture_output=True,
        )
        created = True
    return created


def running_as_root() -> bool:
    return os.geteuid() == 0
