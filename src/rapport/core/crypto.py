"""Keys for contact fields at rest (DESIGN §9, issue 7 item 8). NOT WIRED INTO THE STORE
YET: the building block the store's column types will use.

- Values are sealed with Fernet (AES-128-CBC + HMAC-SHA256). `MultiFernet` gives rotation:
  the first key seals, every key opens, `reseal` moves a token to the first key.
- Lookups and dedup go through `lookup_hash`: HMAC-SHA256 of the normalised value under a
  separate lookup key, which does not rotate with the sealing keys (every stored hash
  would change). Equal values, equal hashes: uniqueness and "find by email" stay equality.

Keys come from `RAPPORT_ENCRYPTION_KEYS` (comma-separated Fernet keys, first seals) and
`RAPPORT_LOOKUP_KEY`; what is not configured is generated once and kept in
`<RAPPORT_HOME>/secrets/contact-keys.json` (mode 0600, created exclusively so that two
processes starting together agree on one file).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

KEY_FILE = Path("secrets") / "contact-keys.json"

__all__ = ["KEY_FILE", "ContactKeys", "InvalidToken", "load_or_create"]


class ContactKeys:
    """Sealing keys (first seals, all open) and the lookup key."""

    def __init__(self, sealing_keys: Sequence[str | bytes], lookup_key: str | bytes) -> None:
        if not sealing_keys:
            raise ValueError("at least one Fernet key is needed")
        self._fernets = [Fernet(k) for k in sealing_keys]
        self._multi = MultiFernet(self._fernets)
        self._first = self._fernets[0]
        lookup = lookup_key.encode() if isinstance(lookup_key, str) else lookup_key
        if len(lookup) < 32:
            raise ValueError("the lookup key needs at least 32 bytes")
        self._lookup = lookup

    # -- sealing
    def seal(self, plaintext: str) -> str:
        return self._first.encrypt(plaintext.encode()).decode("ascii")

    def seal_many(self, values: Iterable[str]) -> list[str]:
        encrypt = self._first.encrypt  # no MultiFernet indirection per value
        return [encrypt(v.encode()).decode("ascii") for v in values]

    def open(self, token: str) -> str:
        """Raises InvalidToken for a token no configured key opens (or one tampered with)."""
        return self._multi.decrypt(token.encode("ascii")).decode()

    def reseal(self, token: str) -> str:
        """The same plaintext under the first key (what key rotation runs over every row)."""
        return self._multi.rotate(token.encode("ascii")).decode("ascii")

    def sealed_with_first(self, token: str) -> bool:
        try:
            self._first.decrypt(token.encode("ascii"))
        except InvalidToken:
            return False
        return True

    # -- lookups
    def lookup_hash(self, kind: str, value: str) -> str:
        """Hex HMAC-SHA256 of `kind` and the normalised `value` (kinds never collide)."""
        msg = f"{kind}\x1f{value}".encode()
        return hmac.new(self._lookup, msg, hashlib.sha256).hexdigest()


def _split(keys: str) -> list[str]:
    return [k.strip() for k in keys.split(",") if k.strip()]


def load_or_create(home: Path, encryption_keys: str = "", lookup_key: str = "") -> ContactKeys:
    """Configured keys win; the rest comes from (or is generated into) the key file."""
    sealing, lookup = _split(encryption_keys), lookup_key.strip()
    if sealing and lookup:
        return ContactKeys(sealing, lookup)
    stored = _read_or_create(Path(home) / KEY_FILE)
    return ContactKeys(sealing or stored["fernet"], lookup or stored["lookup"])


def _read_or_create(path: Path) -> dict:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fresh = {
            "fernet": [Fernet.generate_key().decode("ascii")],
            "lookup": base64.urlsafe_b64encode(os.urandom(32)).decode("ascii"),
        }
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process made it first: use theirs
        else:
            with os.fdopen(fd, "w") as f:
                json.dump(fresh, f)
                f.flush()
                os.fsync(f.fileno())
            return fresh
    data = json.loads(path.read_text())
    if not data.get("fernet") or not data.get("lookup"):
        raise ValueError(f"{path}: expected 'fernet' (list of keys) and 'lookup'")
    return data
