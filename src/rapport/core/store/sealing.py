"""Contact details at rest: the one place where they are sealed and opened (issue 7 item 8).

- `candidates.contacts` holds ONE AES-GCM token per person: their emails, phones and profile
  URLs as one JSON document (a token costs ~2 us; one per value would triple an import's
  sealing work). `SealedContacts` is that column's type, so every ORM and Core read and write
  goes through it; the two raw-driver paths (`bulk.copy_rows`, the outreach `MailableCheck`)
  call `sealer` / `opener` here. `outreach_sends.to_address` (`SealedText`) seals the one
  address a message went to; its `to_hash` finds the send a reply from that address answers.
- `candidates.contact_kinds` is a bit mask of which kinds a person has (email 1, phone 2,
  profile URL 4): what SQL needs (profile completeness, "has an email") without the values.
- `identities.value` holds, for email / phone / profile URL, the keyed lookup hash
  (`ContactKeys.lookup_hash`) instead of the value: dedup, "find by email" and import upserts
  stay equality lookups on the primary key. External ids are not contact details: plain.

Keys belong to the engine: `install(engine, settings)` (what `Database` does) attaches them to
its dialect; engines made elsewhere (migrations, scripts) use the environment's settings.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable
from json.encoder import encode_basestring  # type: ignore[attr-defined]
from typing import NamedTuple

from sqlalchemy import String, Text
from sqlalchemy.types import TypeDecorator

from rapport.core.crypto import ContactKeys, InvalidToken, WrongKey, load_or_create

EMAIL, PHONE, PROFILE_URL = "email", "phone", "profile_url"
CONTACT_KINDS = frozenset({EMAIL, PHONE, PROFILE_URL})
KIND_BITS = {EMAIL: 1, PHONE: 2, PROFILE_URL: 4}
_ATTR = "rapport_contact_keys"


class Contacts(NamedTuple):
    emails: list
    phones: list
    profile_urls: list


EMPTY = Contacts([], [], [])


def kinds_mask(emails, phones, profile_urls) -> int:
    return (1 if emails else 0) | (2 if phones else 0) | (4 if profile_urls else 0)


# ---------------------------------------------------------------- keys


@functools.lru_cache(maxsize=16)
def _keys(home: str, encryption_keys: str, lookup_key: str) -> ContactKeys:
    from pathlib import Path

    return load_or_create(Path(home), encryption_keys, lookup_key)


def keys_from_settings(settings=None) -> ContactKeys:
    """The contact keys `settings` (default: the environment's) configure."""
    if settings is None:
        from rapport.core.config import Settings

        settings = Settings()
    return _keys(
        str(settings.home.resolve()),
        settings.encryption_keys.get_secret_value(),
        settings.lookup_key.get_secret_value(),
    )


class _Lazy:
    """Keys resolved on first use: opening a database that never touches contact details
    (API keys, audit) creates no key file."""

    def __init__(self, settings) -> None:
        self._settings = settings

    @functools.cached_property
    def keys(self) -> ContactKeys:
        return keys_from_settings(self._settings)


def install(engine, settings=None, keys: ContactKeys | None = None) -> None:
    holder = _Lazy(settings)
    if keys is not None:
        holder.__dict__["keys"] = keys
    setattr(engine.dialect, _ATTR, holder)


def keys_of(bind) -> ContactKeys:
    """The keys of a dialect, an engine, a connection or a session."""
    dialect = _dialect(bind)
    holder = getattr(dialect, _ATTR, None)
    return holder.keys if holder is not None else keys_from_settings()


def _dialect(bind):
    if hasattr(bind, "get_bind"):  # a Session
        bind = bind.get_bind()
    return getattr(bind, "dialect", bind)


# ---------------------------------------------------------------- sealing


def _encode(c) -> str:
    parts = []
    for values in c:
        if values and all(type(v) is str for v in values):
            parts.append("[" + ",".join(map(encode_basestring, values)) + "]")
        else:
            parts.append(json.dumps(list(values or ()), separators=(",", ":")))
    return "[" + ",".join(parts) + "]"


def seal_contacts(keys: ContactKeys, c) -> str:
    """One token for a person's (emails, phones, profile_urls)."""
    return keys.seal(_encode(c))


def open_contacts(keys: ContactKeys, token: str | None) -> Contacts:
    if not token:
        return Contacts([], [], [])
    try:
        emails, phones, urls = json.loads(keys.open(token))
    except InvalidToken:
        raise WrongKey() from None
    return Contacts(emails, phones, urls)


class SealedToken(str):
    """A token sealed already (by the import's validation worker): written as it is."""

    __slots__ = ()


class Prepared(str):
    """A draft's content hash (the str itself) carrying what the validation worker computed
    for it off the writer's thread: its sealed contacts and the stored (identities-table)
    values of `candidates.identity_keys(draft)`, in that order. `upsert_batch` uses them only
    after checking, once per batch, that the worker's keys are the writer's."""

    sealed: str
    stored: tuple[str, ...]

    def __reduce__(self):  # it crosses from the worker process: pickle it as a tuple
        return _prepared, (str(self), self.sealed, self.stored)


def _prepared(content_hash: str, sealed: str, stored: tuple[str, ...]) -> Prepared:
    out = Prepared(content_hash)
    out.sealed, out.stored = sealed, stored
    return out


def prepare(keys: ContactKeys, content_hash: str, contacts, pairs) -> Prepared:
    hash_ = keys.lookup_hasher()
    return _prepared(
        content_hash,
        seal_contacts(keys, contacts),
        tuple(hash_(k, v) if k in CONTACT_KINDS else v for k, v in pairs),
    )


def sealer(bind) -> Callable[[object], str]:
    """`seal(contacts)` with the keys of `bind`, for raw-driver writers (a SealedToken
    passes as it is)."""
    keys = keys_of(bind)
    first = keys.seal

    def seal(c) -> str:
        if type(c) is SealedToken:
            return str(c)  # drivers want exact str
        return first(_encode(c if c is not None else EMPTY))

    return seal


def opener(bind) -> Callable[[str | None], Contacts]:
    keys = keys_of(bind)
    return functools.partial(open_contacts, keys)


class SealedContacts(TypeDecorator):
    """A person's contact details, sealed into one AES-GCM token (Text) on the way in and
    opened on the way out (`Contacts`). A token no configured key opens raises WrongKey."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            value = EMPTY
        elif isinstance(value, dict):
            value = Contacts(
                value.get("emails", []), value.get("phones", []), value.get("profile_urls", [])
            )
        elif isinstance(value, str):
            raise TypeError("contacts take (emails, phones, profile_urls), not a string")
        return seal_contacts(keys_of(dialect), value)

    def process_result_value(self, value, dialect):
        return open_contacts(keys_of(dialect), value)

    def process_literal_param(self, value, dialect):  # pragma: no cover - never rendered
        raise TypeError("sealed values are never rendered into SQL")


class SealedText(TypeDecorator):
    """One contact value (an outreach send's recipient address) sealed on the way in and
    opened on the way out; "" stays "" (nothing to hide, and erasure blanks it)."""

    impl = String
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return keys_of(dialect).seal(value) if value else ""

    def process_result_value(self, value, dialect):
        if not value:
            return ""
        try:
            return keys_of(dialect).open(value)
        except InvalidToken:
            raise WrongKey("a recipient address") from None

    def process_literal_param(self, value, dialect):  # pragma: no cover - never rendered
        raise TypeError("sealed values are never rendered into SQL")


def email_hash(bind, address: str) -> str:
    """The keyed lookup hash of a (normalised) email address, as identities hold it."""
    return keys_of(bind).lookup_hasher()(EMAIL, address) if address else ""


# ---------------------------------------------------------------- lookups


def lookup_mapper(bind) -> Callable[[str, str], str]:
    """`stored(kind, value)`: the identities-table value of a (kind, normalised value):
    the keyed hash for contact kinds, the value itself for external ids."""
    hash_ = keys_of(bind).lookup_hasher()

    def stored(kind: str, value: str) -> str:
        return hash_(kind, value) if kind in CONTACT_KINDS else value

    return stored


class StoredValues(dict):
    """(kind, value) -> identities-table value, each computed once (an import batch asks
    for the same identities when it looks owners up and when it writes them)."""

    def __init__(self, bind) -> None:
        super().__init__()
        self._hash = keys_of(bind).lookup_hasher()

    def __missing__(self, pair: tuple[str, str]) -> str:
        kind, value = pair
        stored = self._hash(kind, value) if kind in CONTACT_KINDS else value
        self[pair] = stored
        return stored


def stored_pairs(
    bind, pairs: Iterable[tuple[str, str]], stored: StoredValues | None = None
) -> dict[tuple[str, str], tuple[str, str]]:
    """{(kind, stored value): (kind, value)} for identity pairs."""
    stored = stored if stored is not None else StoredValues(bind)
    return {(kv[0], stored[kv]): kv for kv in pairs}


__all__ = [
    "CONTACT_KINDS",
    "EMPTY",
    "KIND_BITS",
    "Contacts",
    "Prepared",
    "SealedContacts",
    "SealedText",
    "SealedToken",
    "StoredValues",
    "WrongKey",
    "email_hash",
    "install",
    "keys_from_settings",
    "keys_of",
    "kinds_mask",
    "lookup_mapper",
    "open_contacts",
    "opener",
    "seal_contacts",
    "sealer",
    "stored_pairs",
]
