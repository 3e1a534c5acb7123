"""Reading recruiters' ICS feeds: http(s) (and webcal, its alias) with a timeout and a
size cap, or a file below the configured feed directory. Nothing else: a feed URL comes
from an API caller, and the server must not become a way to read its own files."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit

import httpx

from rapport.core.config import Settings

FEED_SCHEMES = ("http", "https", "webcal", "file")


class FeedUnreadable(Exception):
    """The feed could not be read; the message is safe to show its owner."""


def check_url(url: str) -> str:
    """Why `url` cannot be a feed URL ("" when it can)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "not a URL"
    if parts.scheme.lower() not in FEED_SCHEMES:
        return "must be an http(s), webcal or file URL"
    if parts.scheme.lower() != "file" and not parts.hostname:
        return "has no host"
    return ""


class FeedReader:
    def __init__(self, settings: Settings, transport: httpx.BaseTransport | None = None) -> None:
        self._max_bytes = settings.calendar_feed_max_bytes
        self._root = settings.calendar_feeds
        self._http = httpx.Client(
            timeout=settings.calendar_feed_timeout_s,
            follow_redirects=True,
            headers={"Accept": "text/calendar"},
            transport=transport,
        )

    def read(self, url: str) -> str:
        """The document at `url` (UTF-8, as RFC 5545 says), or FeedUnreadable."""
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme == "file":
            data = self._read_file(Path(unquote(parts.path)))
        else:
            if scheme == "webcal":
                url = "https" + url[len(parts.scheme) :]
            data = self._fetch(url)
        return data.decode("utf-8", errors="replace")

    def _read_file(self, path: Path) -> bytes:
        root = self._root.resolve()
        target = path.resolve()
        if not target.is_relative_to(root):
            raise FeedUnreadable(
                "file feeds must lie in the calendar feed directory (RAPPORT_CALENDAR_FEED_DIR)"
            )
        try:
            with target.open("rb") as f:
                data = f.read(self._max_bytes + 1)
        except OSError as exc:
            raise FeedUnreadable(f"cannot read the file: {exc.strerror or exc}") from None
        return self._capped(data)

    def _fetch(self, url: str) -> bytes:
        try:
            with self._http.stream("GET", url) as response:
                if response.status_code != 200:
                    raise FeedUnreadable(f"the server answered HTTP {response.status_code}")
                data = bytearray()
                for chunk in response.iter_bytes():
                    data += chunk
                    if len(data) > self._max_bytes:
                        break
        except httpx.HTTPError as exc:
            raise FeedUnreadable(f"cannot fetch it: {type(exc).__name__}") from None
        return self._capped(bytes(data))

    def _capped(self, data: bytes) -> bytes:
        if len(data) > self._max_bytes:
            raise FeedUnreadable(f"larger than {self._max_bytes} bytes")
        return data

    def close(self) -> None:
        self._http.close()


__all__ = ["FeedReader", "FeedUnreadable", "check_url"]
