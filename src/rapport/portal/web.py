"""The candidate portal: server-rendered pages over the gRPC services (issue 9).

Who a session is comes only from a redeemed sign-in link: the session cookie (signed,
HttpOnly, SameSite=Lax, idle expiry) holds the candidate id the link returned, and every
call names that id and no other. Every form carries the session's CSRF token and every
POST is checked against it, except the RFC 8058 one-click unsubscribe, whose token is its
own credential. Sign-in requests are rate-limited per client address and per email
address, posts per session. gRPC errors become pages; nothing shows a traceback.
"""

from __future__ import annotations

import logging
import secrets
import zoneinfo
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rapport.core.config import Settings
from rapport.portal.backend import CHANNELS, Backend
from rapport.portal.resumes import ResumeRejected, resume_text
from rapport.services.common.auth import TokenBuckets
from rapport.v1 import common_pb2, content_pb2

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
SESSION_COOKIE = "rapport_portal"
TOPICS = ("jobs", "events", "articles")
MAX_SKILL_CHARS = 100
MAX_NOTE_CHARS = 500
FORM_LIMITS = {"max_files": 1, "max_fields": 200, "max_part_size": 64 * 1024}
NO_SEND_TEXT = {
    content_pb2.NO_SEND_REASON_OPTED_OUT: (
        "You have unsubscribed, so we are not recommending anything. You can change that "
        "under Preferences."
    ),
    content_pb2.NO_SEND_REASON_NO_CONSENT: (
        "Tell us under Preferences that we may keep in touch, and recommendations appear here."
    ),
    content_pb2.NO_SEND_REASON_NOTHING_ELIGIBLE: (
        "Nothing new for you right now: you have seen everything that fits. Check back soon."
    ),
}
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
# Paths whose URL carries a secret token: never sent on as a Referer.
TOKEN_PATHS = ("/auth/", "/unsubscribe/")


class PageError(Exception):
    """Ends a request with a friendly page: status, title and one or two sentences."""

    def __init__(self, status: int, title: str, message: str, *, sign_out: bool = False):
        super().__init__(message)
        self.status, self.title, self.message, self.sign_out = status, title, message, sign_out


def violations(err: grpc.RpcError) -> list[str]:
    """The field-level reasons of an INVALID_ARGUMENT, as "field: reason" lines."""
    try:
        status = rpc_status.from_call(err)
    except ValueError:
        status = None
    out = []
    for detail in status.details if status else ():
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            out.extend(f"{v.field}: {v.description}" for v in bad.field_violations)
    return out or [err.details() or "invalid input"]


class SecurityHeaders:
    """CSP without inline scripts, no framing, no sniffing, no caching of personal pages,
    and no Referer from pages whose URL holds a token."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        referrer = "no-referrer" if path.startswith(TOKEN_PATHS) else "same-origin"

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [
                    (b"content-security-policy", CSP.encode()),
                    (b"x-frame-options", b"DENY"),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", referrer.encode()),
                    (b"cross-origin-opener-policy", b"same-origin"),
                ]
                if not path.startswith("/static/"):
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


class Portal:
    def __init__(self, settings: Settings, backend: Backend) -> None:
        self.settings = settings
        self.backend = backend
        self.public_url = settings.portal_public_url.rstrip("/")
        self.templates = Jinja2Templates(directory=str(HERE / "templates"))
        self.templates.env.globals["timezones"] = sorted(zoneinfo.available_timezones())
        hour, minute = 3600.0, 60.0
        self.by_address = TokenBuckets(
            settings.portal_sign_in_ip_per_hour / hour, int(settings.portal_sign_in_ip_per_hour)
        )
        self.by_email = TokenBuckets(
            settings.portal_sign_in_email_per_hour / hour,
            int(settings.portal_sign_in_email_per_hour),
        )
        self.by_session = TokenBuckets(
            settings.portal_posts_per_minute / minute, int(settings.portal_posts_per_minute)
        )

    # ------------------------------------------------------------------ plumbing
    def render(self, request: Request, template: str, status: int = 200, **context) -> Response:
        context.setdefault("errors", [])
        context.update(
            csrf_token=csrf_token(request),
            signed_in=bool(request.session.get("cid")),
            flash=request.session.pop("flash", ""),
            path=request.url.path,
        )
        return self.templates.TemplateResponse(request, template, context, status_code=status)

    async def call(self, fn: Callable, *args):
        """A blocking gRPC call, off the event loop."""
        return await run_in_threadpool(fn, *args)

    async def posted(self, request: Request) -> FormData:
        """The form of a POST, after the session's rate limit and its CSRF token."""
        length = int(request.headers.get("content-length") or 0)
        if length > self.settings.portal_max_upload_bytes + 64 * 1024:
            raise PageError(
                413,
                "That file is too large",
                f"Files up to {self.settings.portal_max_upload_bytes // (1024 * 1024)} MB "
                "are accepted.",
            )
        form = await request.form(**FORM_LIMITS)
        expected = request.session.get("csrf", "")
        if not self.by_session.take(expected or client_address(request)):
            raise PageError(429, "Slow down", "Too many requests: wait a minute and try again.")
        given = form.get("csrf_token", "")
        if (
            not expected
            or not isinstance(given, str)
            or not secrets.compare_digest(given, expected)
        ):
            raise PageError(
                403,
                "This form has expired",
                "For your security, forms only work in the session that showed them. "
                "Go back, reload the page and try again.",
            )
        return form

    # ------------------------------------------------------------------ sign-in
    async def home(self, request: Request) -> Response:
        return redirect("/profile" if request.session.get("cid") else "/sign-in")

    async def sign_in_form(self, request: Request) -> Response:
        return self.render(request, "sign_in.html")

    async def sign_in(self, request: Request) -> Response:
        form = await self.posted(request)
        email = str(form.get("email", "")).strip()
        if not email:
            return self.render(request, "sign_in.html", 400, errors=["Enter your email address."])
        if not self.by_address.take(client_address(request)) or not self.by_email.take(
            email.lower()
        ):
            raise PageError(
                429,
                "Too many sign-in requests",
                "Please wait a while before asking for another link. Links already sent "
                "keep working until they expire.",
            )
        try:
            minutes = await self.call(self.backend.request_link, email, f"{self.public_url}/auth")
        except grpc.RpcError as err:
            if err.code() != grpc.StatusCode.INVALID_ARGUMENT:
                raise
            return self.render(
                request,
                "sign_in.html",
                400,
                email=email,
                errors=["That does not look like an email address."],
            )
        return self.render(request, "sign_in_sent.html", minutes=minutes)

    async def auth_form(self, request: Request) -> Response:
        # A GET never uses the link up: mail scanners fetch links before people click them.
        return self.render(request, "auth.html", token=request.path_params["token"])

    async def auth(self, request: Request) -> Response:
        await self.posted(request)
        if not self.by_address.take(client_address(request)):
            raise PageError(429, "Too many attempts", "Please wait a while and try again.")
        try:
            candidate_id = await self.call(self.backend.redeem, request.path_params["token"])
        except grpc.RpcError as err:
            if err.code() != grpc.StatusCode.UNAUTHENTICATED:
                raise
            message = err.details() or "this sign-in link does not work"
            return self.render(
                request, "auth_failed.html", 401, message=message[:1].upper() + message[1:] + "."
            )
        request.session.clear()
        request.session.update(cid=candidate_id, csrf=secrets.token_urlsafe(32))
        return redirect("/profile")

    async def sign_out(self, request: Request) -> Response:
        await self.posted(request)
        request.session.clear()
        request.session["flash"] = "You are signed out."
        return redirect("/sign-in")

    # ------------------------------------------------------------------ profile
    async def profile(self, request: Request) -> Response:
        candidate = await self.call(self.backend.candidate, signed_in(request))
        return self.render(request, "profile.html", c=candidate)

    async def update_profile(self, request: Request) -> Response:
        cid = signed_in(request)
        form = await self.posted(request)
        fields = {
            name: str(form.get(name, "")).strip()
            for name in (
                "first_name",
                "last_name",
                "headline",
                "summary",
                "city",
                "country",
                "timezone",
            )
        }
        fields["languages"] = [
            part.strip() for part in str(form.get("languages", "")).split(",") if part.strip()
        ]
        try:
            await self.call(self.backend.update_profile, cid, version_of(form), fields)
        except grpc.RpcError as err:
            return await self._profile_refused(request, cid, err)
        request.session["flash"] = "Your profile is saved."
        return redirect("/profile")

    async def add_skill(self, request: Request) -> Response:
        cid = signed_in(request)
        form = await self.posted(request)
        text = " ".join(str(form.get("skill", "")).split())
        if not text or len(text) > MAX_SKILL_CHARS:
            candidate = await self.call(self.backend.candidate, cid)
            return self.render(
                request,
                "profile.html",
                400,
                c=candidate,
                errors=[f"Enter a skill of 1 to {MAX_SKILL_CHARS} characters."],
            )
        return await self._add_skills(request, cid, version_of(form), [text], "portal")

    async def remove_skill(self, request: Request) -> Response:
        cid = signed_in(request)
        form = await self.posted(request)
        skill_id = str(form.get("skill_id", ""))
        candidate = await self.call(self.backend.candidate, cid)
        kept = [s for s in candidate.skills if s.skill_id != skill_id]
        removed = [s.label for s in candidate.skills if s.skill_id == skill_id]
        try:
            await self.call(self.backend.set_skills, cid, version_of(form), kept)
        except grpc.RpcError as err:
            return await self._profile_refused(request, cid, err)
        if removed:
            request.session["flash"] = f"Removed {removed[0]}."
        return redirect("/profile")

    async def _add_skills(
        self, request: Request, cid: str, version: int, texts: list[str], source: str
    ) -> Response:
        candidate = await self.call(self.backend.candidate, cid)
        before = {s.skill_id for s in candidate.skills}
        skills = [*candidate.skills, *(common_pb2.Skill(label=t, source=source) for t in texts)]
        try:
            updated = await self.call(self.backend.set_skills, cid, version, skills)
        except grpc.RpcError as err:
            return await self._profile_refused(request, cid, err)
        added = [s.label for s in updated.skills if s.skill_id not in before]
        request.session["flash"] = (
            f"Added {', '.join(added)}." if added else "You already had that skill."
        )
        return redirect("/profile")

    async def _profile_refused(self, request: Request, cid: str, err: grpc.RpcError) -> Response:
        """A refused profile write: stale version or invalid fields, shown on the profile."""
        code = err.code()
        if code == grpc.StatusCode.ABORTED:
            errors = [
                "Your profile was changed elsewhere (another tab?) while you edited it. "
                "This is the latest version: please make your change again."
            ]
        elif code == grpc.StatusCode.INVALID_ARGUMENT:
            errors = violations(err)
        else:
            raise err
        candidate = await self.call(self.backend.candidate, cid)
        status = 409 if code == grpc.StatusCode.ABORTED else 400
        return self.render(request, "profile.html", status, c=candidate, errors=errors)

    # ------------------------------------------------------------------ resume
    async def resume_form(self, request: Request) -> Response:
        signed_in(request)
        return self.render(request, "resume.html", max_mb=self.max_mb)

    @property
    def max_mb(self) -> int:
        return self.settings.portal_max_upload_bytes // (1024 * 1024)

    async def upload_resume(self, request: Request) -> Response:
        cid = signed_in(request)
        form = await self.posted(request)
        upload = form.get("resume")
        if not isinstance(upload, UploadFile):
            return self.render(
                request, "resume.html", 400, max_mb=self.max_mb, errors=["Choose a file first."]
            )
        data = await upload.read(self.settings.portal_max_upload_bytes + 1)
        try:
            text = resume_text(data, self.settings.portal_max_upload_bytes)
        except ResumeRejected as exc:
            status = 413 if len(data) > self.settings.portal_max_upload_bytes else 400
            return self.render(
                request, "resume.html", status, max_mb=self.max_mb, errors=[str(exc)]
            )
        found = await self.call(self.backend.extract_skills, text)
        candidate = await self.call(self.backend.candidate, cid)
        have = {s.skill_id for s in candidate.skills}
        options = [m for m in found if m.skill_id and m.skill_id not in have]
        return self.render(
            request,
            "resume_skills.html",
            options=options,
            already=[m for m in found if m.skill_id in have],
            version=candidate.version,
        )

    async def add_resume_skills(self, request: Request) -> Response:
        cid = signed_in(request)
        form = await self.posted(request)
        labels = [str(v)[:MAX_SKILL_CHARS] for v in form.getlist("skill") if str(v).strip()]
        if not labels:
            request.session["flash"] = "No skills added."
            return redirect("/profile")
        return await self._add_skills(request, cid, version_of(form), labels, "resume")

    # ------------------------------------------------------------------ preferences
    async def preferences(self, request: Request) -> Response:
        consent = await self.call(self.backend.consent, signed_in(request))
        return self.render(request, "preferences.html", **preference_view(consent))

    async def update_preferences(self, request: Request) -> Response:
        cid = signed_in(request)
        form = await self.posted(request)
        state = {"yes": "granted", "no": "opted_out"}.get(str(form.get("contact", "")), "")
        allowed = {channel: f"channel_{channel}" in form for channel in CHANNELS}
        topics = [t for t in form.getlist("topic") if t in TOPICS]
        await self.call(self.backend.set_preferences, cid, state, allowed, topics)
        request.session["flash"] = "Your preferences are saved."
        return redirect("/preferences")

    async def unsubscribe_all(self, request: Request) -> Response:
        cid = signed_in(request)
        await self.posted(request)
        await self.call(self.backend.unsubscribe_all, cid)
        request.session["flash"] = "You are unsubscribed from everything. We will not contact you."
        return redirect("/preferences")

    # ------------------------------------------------------------------ recommended
    async def recommended(self, request: Request) -> Response:
        answer = await self.call(self.backend.recommended, signed_in(request))
        note = "" if answer.send else NO_SEND_TEXT.get(answer.no_send, answer.reason)
        return self.render(request, "recommended.html", answer=answer, note=note)

    # ------------------------------------------------------------------ my data
    async def my_data(self, request: Request) -> Response:
        signed_in(request)
        return self.render(request, "my_data.html")

    async def export(self, request: Request) -> Response:
        cid = signed_in(request)
        await self.posted(request)
        document = await self.call(self.backend.export, cid)
        return Response(
            document,
            media_type="application/json",
            headers={"content-disposition": 'attachment; filename="my-data.json"'},
        )

    async def erase_form(self, request: Request) -> Response:
        signed_in(request)
        return self.render(request, "erase.html")

    async def erase(self, request: Request) -> Response:
        cid = signed_in(request)
        form = await self.posted(request)
        if form.get("confirm") != "yes":
            return self.render(
                request, "erase.html", 400, errors=["Tick the box to confirm the erasure."]
            )
        await self.call(self.backend.erase, cid)
        request.session.clear()
        return self.render(request, "erased.html")

    # ------------------------------------------------------------------ booking
    async def calendars(self, request: Request) -> Response:
        signed_in(request)
        calendars = await self.call(self.backend.calendars)
        return self.render(request, "book.html", calendars=calendars)

    async def slots(self, request: Request, errors: list[str] | None = None) -> Response:
        cid = signed_in(request)
        calendar_id = request.path_params["calendar_id"]
        found = await self.call(self.backend.slots, calendar_id, cid)
        calendars = {c.calendar_id: c for c in await self.call(self.backend.calendars)}
        days: dict[str, list[tuple[str, str]]] = {}  # day -> [(start, time of day)]
        for slot in found.slots:
            day, _, time_of_day = slot.label.partition(", ")
            start = slot.start.ToDatetime(tzinfo=UTC).isoformat()
            days.setdefault(day, []).append((start, time_of_day or slot.label))
        return self.render(
            request,
            "slots.html",
            409 if errors else 200,
            calendar=calendars.get(calendar_id),
            calendar_id=calendar_id,
            timezone=found.timezone,
            days=days,
            errors=errors or [],
        )

    async def book(self, request: Request) -> Response:
        cid = signed_in(request)
        form = await self.posted(request)
        try:
            start = datetime.fromisoformat(str(form.get("start", "")))
        except ValueError:
            return await self.slots(request, ["Pick one of the times."])
        note = str(form.get("note", "")).strip()[:MAX_NOTE_CHARS]
        timezone = str(form.get("timezone", ""))
        calendar_id = request.path_params["calendar_id"]
        try:
            booking = await self.call(self.backend.book, calendar_id, cid, start, timezone, note)
        except grpc.RpcError as err:
            if err.code() == grpc.StatusCode.ALREADY_EXISTS:
                return await self.slots(
                    request, ["Someone booked that time a moment ago: pick another."]
                )
            if err.code() in (
                grpc.StatusCode.FAILED_PRECONDITION,
                grpc.StatusCode.INVALID_ARGUMENT,
            ):
                return await self.slots(request, ["That time is no longer free: pick another."])
            raise
        return self.render(request, "booked.html", booking=booking)

    async def invite(self, request: Request) -> Response:
        cid = signed_in(request)
        wanted = request.path_params["booking_id"]
        bookings = await self.call(self.backend.bookings, cid)
        booking = next((b for b in bookings if b.booking_id == wanted), None)
        if booking is None:
            raise PageError(404, "No such booking", "We could not find that booking of yours.")
        return Response(
            booking.ics,
            media_type="text/calendar",
            headers={"content-disposition": 'attachment; filename="call.ics"'},
        )

    # ------------------------------------------------------------------ RFC 8058
    async def unsubscribe_page(self, request: Request) -> Response:
        return self.render(request, "unsubscribe.html", token=request.path_params["token"])

    async def one_click_unsubscribe(self, request: Request) -> Response:
        """RFC 8058: a POST with `List-Unsubscribe=One-Click`, no session, no CSRF token
        (the URL's token is the credential), answered 200 without a redirect."""
        if not self.by_session.take(client_address(request)):
            raise PageError(429, "Slow down", "Too many requests: wait a minute and try again.")
        form = await request.form(max_files=0, max_fields=10)
        if form.get("List-Unsubscribe") != "One-Click":
            raise PageError(400, "Not an unsubscribe request", "Use the button on the page.")
        try:
            outcome = await self.call(
                self.backend.one_click_unsubscribe, request.path_params["token"]
            )
        except grpc.RpcError as err:
            if err.code() not in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT):
                raise
            raise PageError(
                404,
                "This unsubscribe link does not work",
                "It may be mistyped. Sign in to manage your preferences instead.",
            ) from None
        return self.render(request, "unsubscribed.html", already=outcome.already)

    async def health(self, request: Request) -> Response:
        return PlainTextResponse("ok")

    # ------------------------------------------------------------------ error pages
    async def page_error(self, request: Request, exc: Exception) -> Response:
        assert isinstance(exc, PageError)
        if exc.sign_out:
            request.session.clear()
        return self.render(request, "error.html", exc.status, title=exc.title, message=exc.message)

    async def http_error(self, request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if exc.status_code == 404:
            title, message = "Page not found", "There is nothing at this address."
        else:
            title, message = "That did not work", exc.detail
        return self.render(request, "error.html", exc.status_code, title=title, message=message)

    async def rpc_error(self, request: Request, exc: Exception) -> Response:
        assert isinstance(exc, grpc.RpcError)
        code = exc.code()
        if code == grpc.StatusCode.NOT_FOUND and request.session.get("cid"):
            # the person is gone (erased, say): nothing more to show this session
            return await self.page_error(
                request,
                PageError(
                    404, "You are signed out", "We no longer hold a profile for you.", sign_out=True
                ),
            )
        pages = {
            grpc.StatusCode.NOT_FOUND: (404, "Not found", "We could not find what you asked for."),
            grpc.StatusCode.INVALID_ARGUMENT: (
                400,
                "Please check your input",
                "; ".join(violations(exc)),
            ),
            grpc.StatusCode.FAILED_PRECONDITION: (
                409,
                "That is not possible now",
                exc.details() or "",
            ),
            grpc.StatusCode.RESOURCE_EXHAUSTED: (
                429,
                "Slow down",
                "Please wait a moment and try again.",
            ),
        }
        if code in pages:
            status, title, message = pages[code]
        else:
            log.error("portal call failed: %s %s", code, exc.details())
            status, title, message = (
                503,
                "Temporarily unavailable",
                "We cannot reach your data right now. Please try again in a few minutes.",
            )
        return self.render(request, "error.html", status, title=title, message=message)

    async def unexpected(self, request: Request, exc: Exception) -> Response:
        log.exception("portal page failed", exc_info=exc)
        return self.templates.TemplateResponse(
            request,
            "error.html",
            {
                "title": "Something went wrong",
                "message": "Sorry, this page failed. Please try again.",
                "csrf_token": "",
                "signed_in": False,
                "flash": "",
                "path": "",
                "errors": [],
            },
            status_code=500,
        )


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not token:
        token = request.session["csrf"] = secrets.token_urlsafe(32)
    return token


def signed_in(request: Request) -> str:
    """The session's candidate id; else the sign-in page (as an error that redirects)."""
    cid = request.session.get("cid")
    if not cid:
        raise SignInRequired()
    return cid


class SignInRequired(Exception):
    pass


async def to_sign_in(request: Request, exc: Exception) -> Response:
    return redirect("/sign-in")


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def version_of(form: FormData) -> int:
    try:
        return max(0, int(str(form.get("version", "0"))))
    except ValueError:
        return 0


def redirect(path: str) -> Response:
    return RedirectResponse(path, status_code=303)


def preference_view(consent) -> dict:
    """What the preferences page shows: the yes/no choice, channels and topics."""
    prefs = {p.channel: p for p in consent.preferences}
    topics = {t for p in consent.preferences for t in p.topics}
    contact = {"granted": "yes", "legitimate_interest": "yes", "opted_out": "no"}.get(
        consent.state, ""
    )
    return {
        "consent": consent,
        "contact": contact,
        "channels": [(c, prefs[c].allowed if c in prefs else True) for c in CHANNELS],
        "topics": [(t, t in topics) for t in TOPICS],
    }


def create_app(settings: Settings, backend: Backend) -> Starlette:
    portal = Portal(settings, backend)
    secret = settings.portal_session_secret.get_secret_value() or secrets.token_urlsafe(32)
    get, post = ["GET"], ["POST"]
    routes = [
        Route("/", portal.home, methods=get),
        Route("/healthz", portal.health, methods=get),
        Route("/sign-in", portal.sign_in_form, methods=get),
        Route("/sign-in", portal.sign_in, methods=post),
        Route("/auth/{token}", portal.auth_form, methods=get),
        Route("/auth/{token}", portal.auth, methods=post),
        Route("/sign-out", portal.sign_out, methods=post),
        Route("/profile", portal.profile, methods=get),
        Route("/profile", portal.update_profile, methods=post),
        Route("/profile/skills", portal.add_skill, methods=post),
        Route("/profile/skills/remove", portal.remove_skill, methods=post),
        Route("/resume", portal.resume_form, methods=get),
        Route("/resume", portal.upload_resume, methods=post),
        Route("/resume/skills", portal.add_resume_skills, methods=post),
        Route("/preferences", portal.preferences, methods=get),
        Route("/preferences", portal.update_preferences, methods=post),
        Route("/preferences/unsubscribe", portal.unsubscribe_all, methods=post),
        Route("/recommended", portal.recommended, methods=get),
        Route("/my-data", portal.my_data, methods=get),
        Route("/my-data/export", portal.export, methods=post),
        Route("/my-data/erase", portal.erase_form, methods=get),
        Route("/my-data/erase", portal.erase, methods=post),
        Route("/book", portal.calendars, methods=get),
        Route("/book/{calendar_id}", portal.slots, methods=get),
        Route("/book/{calendar_id}", portal.book, methods=post),
        Route("/bookings/{booking_id}.ics", portal.invite, methods=get),
        Route("/unsubscribe/{token}", portal.unsubscribe_page, methods=get),
        Route("/unsubscribe/{token}", portal.one_click_unsubscribe, methods=post),
        Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
    ]
    handlers: dict = {
        PageError: portal.page_error,
        SignInRequired: to_sign_in,
        HTTPException: portal.http_error,
        grpc.RpcError: portal.rpc_error,
        Exception: portal.unexpected,
    }
    middleware = [
        Middleware(SecurityHeaders),
        Middleware(
            SessionMiddleware,
            secret_key=secret,
            session_cookie=SESSION_COOKIE,
            max_age=settings.portal_session_idle_s,
            same_site="lax",
            https_only=settings.portal_secure_cookies,
        ),
    ]
    return Starlette(routes=routes, middleware=middleware, exception_handlers=handlers)


__all__ = ["Portal", "create_app"]
