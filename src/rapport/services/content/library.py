"""The content library in memory: items, their vectors, per-item response statistics and the
arrays the eligibility rules filter with, swapped whole on each refresh.

A thousand items fit in a few megabytes, and NextBestContent filters them with numpy masks
instead of asking the store. Vectors are computed once per item and encoder and kept in the
store (`content_embeddings`), so a restart does not re-embed the library. A background
thread reloads when the library changes (other replicas write too) and refreshes the item
statistics every `content_refresh_interval_s`; a write in this process refreshes at once.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime

import numpy as np

from rapport.core.content import CONTENT_CHANNELS, ContentItem, ContentKind, embed_text, text_hash
from rapport.core.domain import Rule
from rapport.core.errors import Unavailable, ValidationFailed
from rapport.core.store import content as content_store
from rapport.core.store import decisions
from rapport.core.store.db import Database
from rapport.core.templating import prepare
from rapport.models.encoders import Encoder

log = logging.getLogger(__name__)

# Values a preview adds to the person's own (see ContentUseCases._preview).
PREVIEW_EXTRA = frozenset({"content_title", "content_url"})
KIND_CODES = {kind: i for i, kind in enumerate(ContentKind)}
CHANNEL_BITS = {channel: 1 << i for i, channel in enumerate(CONTENT_CHANNELS)}
NO_TIME = np.inf


def _stamp(value: datetime | None, missing: float) -> float:
    return value.timestamp() if value is not None else missing


@dataclass(frozen=True)
class LibrarySnapshot:
    items: tuple[ContentItem, ...] = ()
    pks: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    kinds: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int8))
    channels: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int16))
    active_from: np.ndarray = field(default_factory=lambda: np.zeros(0))
    active_until: np.ndarray = field(default_factory=lambda: np.zeros(0))
    # Per item, a code into `locale_names` (primary language subtags; 0 is "any") and into
    # `audience_keys` (keys of `rules`; 0 is "everyone"), so the rules are numpy masks.
    locale_codes: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int32))
    locale_names: tuple[str, ...] = ("",)
    audience_codes: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int32))
    audience_keys: tuple[str, ...] = ("",)
    rules: dict[str, Rule] = field(default_factory=dict)
    vectors: np.ndarray | None = None  # (n, dim) unit rows; None until the encoder is ready
    encoder_id: str = ""
    sends: np.ndarray = field(default_factory=lambda: np.zeros(0))
    rewards: np.ndarray = field(default_factory=lambda: np.zeros(0))
    version: tuple = ()

    def __len__(self) -> int:
        return len(self.items)

    def index_of(self) -> dict[int, int]:
        return {int(pk): i for i, pk in enumerate(self.pks)}


class EncoderHolder:
    """The encoder content embeds with: the matching keeper's when matching runs in this
    process (one model in memory, one vector space), else one loaded in the background."""

    def __init__(self, load: Callable[[], Encoder] | None, shared: Callable[[], Encoder] | None):
        self._load = load
        self._shared = shared
        self._encoder: Encoder | None = None
        self._error = ""
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._shared is None and self._load is not None:
            self._thread = threading.Thread(target=self._run, name="content-encoder", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        try:
            assert self._load is not None
            self._encoder = self._load()
        except Exception as exc:  # the service stays up and says why it cannot rank content
            log.exception("content encoder failed to load")
            self._error = str(exc)

    def get(self) -> Encoder:
        """The encoder, or Unavailable while it loads (or if it failed to)."""
        if self._shared is not None:
            return self._shared()
        if self._encoder is None:
            if self._error:
                raise Unavailable(f"content encoder failed to load: {self._error}")
            raise Unavailable("the content encoder is still loading; retry shortly")
        return self._encoder


class Library:
    """Holds the current LibrarySnapshot and keeps it fresh."""

    def __init__(self, db: Database, encoders: EncoderHolder, refresh_interval_s: float) -> None:
        self._db = db
        self._encoders = encoders
        self._interval = refresh_interval_s
        self._snapshot = LibrarySnapshot()
        self._lock = threading.Lock()  # one refresher at a time
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._run, name="content-library", daemon=True)
        self._loaded_version: tuple = ()

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        """Refresh now rather than at the next interval (the encoder became ready)."""
        self._wake.set()

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def current(self) -> LibrarySnapshot:
        return self._snapshot

    def _run(self) -> None:
        while True:
            try:
                self.refresh()
            except Exception:
                log.exception("content library refresh failed; retrying")
            self._wake.wait(self._interval)
            self._wake.clear()
            if self._stop.is_set():
                return

    def refresh(self, *, force: bool = False) -> LibrarySnapshot:
        """Reloads items (when they changed, or `force`), embeds what lacks a vector, and
        reloads the item statistics. Returns the new snapshot."""
        with self._lock:
            try:
                encoder: Encoder | None = self._encoders.get()
            except Unavailable:
                encoder = None
            with self._db.read() as s:
                version = content_store.library_version(s)
                stats = decisions.item_statistics(s)
            old = self._snapshot
            encoder_id = encoder.id if encoder is not None else ""
            stale = force or version != self._loaded_version or encoder_id != old.encoder_id
            snap = self._load(version, encoder) if stale else old
            sends = np.array([stats.get(int(pk), (0, 0.0))[0] for pk in snap.pks], dtype=float)
            rewards = np.array([stats.get(int(pk), (0, 0.0))[1] for pk in snap.pks], dtype=float)
            snap = replace(snap, sends=sends, rewards=rewards)
            self._snapshot = snap
            self._loaded_version = version
            return snap

    def add(self, item: ContentItem) -> LibrarySnapshot:
        """Appends an item just created in this process (embedding only it), instead of
        reloading the library; a full reload follows if someone else wrote meanwhile."""
        with self._lock:
            old = self._snapshot
            try:
                encoder: Encoder | None = self._encoders.get()
            except Unavailable:
                encoder = None
            if encoder is None or old.encoder_id != encoder.id or old.vectors is None:
                vectors = None  # the next refresh embeds everything
            else:
                vectors = np.vstack([old.vectors, self._vectors([item], {}, encoder)])
            items = [*old.items, item]
            with self._db.read() as s:
                version = content_store.library_version(s)
            _warm([item])
            snap = self._build(items, vectors, old.encoder_id, version)
            snap = replace(
                snap, sends=np.append(old.sends, 0.0), rewards=np.append(old.rewards, 0.0)
            )
            self._snapshot = snap
            loaded_count = (self._loaded_version or (0,))[0]
            if loaded_count == len(old.items) and version[:2] == (len(items), item.pk):
                self._loaded_version = version  # nobody else wrote: no reload needed
            return snap

    def _load(self, version: tuple, encoder: Encoder | None) -> LibrarySnapshot:
        with self._db.read() as s:
            items = content_store.load_all(s)
            stored = content_store.embeddings(s, encoder.id) if encoder is not None else {}
        vectors = None
        if encoder is not None:
            vectors = self._vectors(items, stored, encoder)
        _warm(items)
        return self._build(items, vectors, encoder.id if encoder is not None else "", version)

    @staticmethod
    def _build(
        items: list[ContentItem], vectors: np.ndarray | None, encoder_id: str, version: tuple
    ) -> LibrarySnapshot:
        rules: dict[str, Rule] = {}
        audience_keys: dict[str, int] = {"": 0}
        locale_names: dict[str, int] = {"": 0}
        audiences, locales = [], []
        for item in items:
            key = ""
            if item.audience.conditions:
                key = json.dumps(content_store.rule_to_json(item.audience), sort_keys=True)
                rules[key] = item.audience
            audiences.append(audience_keys.setdefault(key, len(audience_keys)))
            language = item.locale.lower().split("-")[0] if item.locale else ""
            locales.append(locale_names.setdefault(language, len(locale_names)))
        channels = np.array(
            [sum(CHANNEL_BITS.get(c, 0) for c in item.channels) for item in items], dtype=np.int16
        )
        return LibrarySnapshot(
            items=tuple(items),
            pks=np.array([item.pk for item in items], dtype=np.int64),
            kinds=np.array([KIND_CODES[item.kind] for item in items], dtype=np.int8),
            channels=channels,
            active_from=np.array([_stamp(i.active_from, -NO_TIME) for i in items], dtype=float),
            active_until=np.array([_stamp(i.active_until, NO_TIME) for i in items], dtype=float),
            locale_codes=np.array(locales, dtype=np.int32),
            locale_names=tuple(locale_names),
            audience_codes=np.array(audiences, dtype=np.int32),
            audience_keys=tuple(audience_keys),
            rules=rules,
            vectors=vectors,
            encoder_id=encoder_id if vectors is not None else "",
            version=version,
        )

    def _vectors(
        self, items: list[ContentItem], stored: dict[int, tuple[str, bytes]], encoder: Encoder
    ) -> np.ndarray:
        """One unit row per item: stored ones reused, missing or stale ones embedded (in
        batches) and written back."""
        out = np.zeros((len(items), encoder.dim), dtype=np.float32)
        missing: list[tuple[int, ContentItem, str, str]] = []
        for i, item in enumerate(items):
            text = embed_text(item)
            digest = text_hash(text)
            hit = stored.get(item.pk)
            if hit is not None and hit[0] == digest and len(hit[1]) == 4 * encoder.dim:
                out[i] = np.frombuffer(hit[1], dtype="<f4")
            else:
                missing.append((i, item, text, digest))
        if missing:
            started = time.perf_counter()
            vectors = encoder.encode([text for _, _, text, _ in missing])
            for (i, _, _, _), vector in zip(missing, vectors, strict=True):
                out[i] = vector
            with self._db.transaction() as s:
                content_store.put_embeddings(
                    s,
                    encoder.id,
                    [
                        (item.pk, digest, np.asarray(vector, dtype="<f4").tobytes())
                        for (_, item, _, digest), vector in zip(missing, vectors, strict=True)
                    ],
                )
            log.info(
                "embedded %d content items with %s in %.1fs",
                len(missing),
                encoder.id,
                time.perf_counter() - started,
            )
        return out


def _warm(items: list[ContentItem]) -> None:
    """Compiles each item's templates now, so no decision pays for it (about 4 ms each)."""
    for item in items:
        for text in (item.subject or item.title, item.body):
            try:
                prepare(text, PREVIEW_EXTRA)
            except ValidationFailed:  # saved under older rules: the preview will say so
                log.warning("content %s has a template that no longer passes", item.id)


def matching_vectors(keeper) -> Callable[[int, str], np.ndarray | None]:
    """A person's vector from the matching index (an `IndexKeeper` in this process), when it
    holds one in the asked encoder's space: content then never re-encodes a profile."""

    def lookup(pk: int, encoder_id: str) -> np.ndarray | None:
        try:
            index, _ = keeper.current()
        except Unavailable:
            return None
        if index.encoder.id != encoder_id:
            return None
        try:
            return index.vector_of(pk)
        except KeyError:
            return None

    return lookup
