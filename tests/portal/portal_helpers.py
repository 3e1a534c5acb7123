"""What the portal tests share besides fixtures (importable by name, unlike a conftest):
the portal's URL, the mail sink that reads sign-in links, and form helpers."""

from __future__ import annotations

import re
import time

from mail_helpers import Sink

PORTAL_URL = "http://portal.test"
LINK = re.compile(r"(https?://\S+/auth/([A-Za-z0-9_-]{43}))")
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
MAIL_WAIT_S = 30.0  # a generous deadline for a background thread to hand a mail over


class Mailbox(Sink):
    """The sink, and the sign-in links in what it received."""

    def wait_for_link(self, address: str, count: int = 1) -> str:
        """The sign-in link of the `count`-th mail to `address` (waits for it)."""
        deadline = time.monotonic() + MAIL_WAIT_S
        while time.monotonic() < deadline:
            mails = self.to(address)
            if len(mails) >= count:
                return LINK.search(mails[count - 1].body()).group(1)
            time.sleep(0.02)
        raise AssertionError(f"no mail number {count} to {address}")


def csrf(page) -> str:
    return CSRF.search(page.text).group(1)


def post(client, path: str, data: dict | None = None, *, page: str | None = None, **kwargs):
    """POSTs a form with the CSRF token of `page` (default: `path` itself, fetched)."""
    token = csrf(client.get(page or path))
    return client.post(path, data={"csrf_token": token, **(data or {})}, **kwargs)


def sign_in(client, mailbox: Mailbox, address: str, count: int = 1):
    """Signs in by the mailed link; returns the redeeming response."""
    answer = post(client, "/sign-in", {"email": address})
    assert answer.status_code == 200 and "Check your inbox" in answer.text
    link = mailbox.wait_for_link(address, count)
    path = link.removeprefix(PORTAL_URL)
    done = post(client, path, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/profile", done.text
    return done
