"""Reading ICS feeds (rapport.services.scheduling.feeds): http(s) and webcal through httpx
(a mock transport here: no network), files only below the feed directory, a size cap."""

from __future__ import annotations

import httpx
import pytest

from rapport.core.config import Settings
from rapport.services.scheduling.feeds import FeedReader, FeedUnreadable, check_url

DOCUMENT = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n"


@pytest.fixture
def feed_settings(tmp_path) -> Settings:
    return Settings(
        home=tmp_path / "home", calendar_feed_dir=tmp_path / "feeds", calendar_feed_max_bytes=1000
    )


def reader(settings: Settings, handler) -> FeedReader:
    return FeedReader(settings, transport=httpx.MockTransport(handler))


def test_http_and_webcal_feeds(feed_settings):
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        if request.url.path == "/moved.ics":
            return httpx.Response(302, headers={"Location": "https://cal.example.com/rita.ics"})
        return httpx.Response(200, text=DOCUMENT)

    feeds = reader(feed_settings, handler)
    assert feeds.read("https://cal.example.com/rita.ics") == DOCUMENT
    assert feeds.read("webcal://cal.example.com/rita.ics") == DOCUMENT
    assert feeds.read("http://cal.example.com/moved.ics") == DOCUMENT
    assert seen[1] == "https://cal.example.com/rita.ics"  # webcal is https
    assert seen[-1] == "https://cal.example.com/rita.ics"  # redirects followed


@pytest.mark.parametrize(
    ("response", "reason"),
    [
        (httpx.Response(404, text="gone"), "HTTP 404"),
        (httpx.Response(200, text="x" * 1001), "larger than 1000 bytes"),
    ],
)
def test_http_failures(feed_settings, response, reason):
    feeds = reader(feed_settings, lambda request: response)
    with pytest.raises(FeedUnreadable, match=reason):
        feeds.read("https://cal.example.com/rita.ics")


def test_network_errors_are_unreadable_feeds(feed_settings):
    def handler(request):
        raise httpx.ConnectTimeout("too slow", request=request)

    with pytest.raises(FeedUnreadable, match="ConnectTimeout"):
        reader(feed_settings, handler).read("https://cal.example.com/rita.ics")


def test_file_feeds_only_from_the_feed_directory(feed_settings, tmp_path):
    feed_settings.calendar_feeds.mkdir()
    inside = feed_settings.calendar_feeds / "rita.ics"
    inside.write_text(DOCUMENT)
    outside = tmp_path / "secret.ics"
    outside.write_text(DOCUMENT)
    sneaky = feed_settings.calendar_feeds / "link.ics"
    sneaky.symlink_to(outside)
    feeds = reader(feed_settings, lambda request: httpx.Response(500))
    assert feeds.read(inside.as_uri()) == DOCUMENT
    for path in (outside, sneaky, feed_settings.calendar_feeds / ".." / "secret.ics"):
        with pytest.raises(FeedUnreadable, match="calendar feed directory"):
            feeds.read(f"file://{path}")
    with pytest.raises(FeedUnreadable, match="cannot read the file"):
        feeds.read((feed_settings.calendar_feeds / "missing.ics").as_uri())
    (feed_settings.calendar_feeds / "big.ics").write_text("x" * 1001)
    with pytest.raises(FeedUnreadable, match="larger than"):
        feeds.read((feed_settings.calendar_feeds / "big.ics").as_uri())


def test_feed_urls_are_checked():
    assert check_url("https://cal.example.com/a.ics") == ""
    assert check_url("file:///srv/calendars/a.ics") == ""
    assert check_url("ftp://cal.example.com/a.ics") == "must be an http(s), webcal or file URL"
    assert check_url("https:///a.ics") == "has no host"
    assert check_url("just words") == "must be an http(s), webcal or file URL"
