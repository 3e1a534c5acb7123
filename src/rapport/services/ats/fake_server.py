"""A fake ATS for tests and local trials (`rapport ats fake-server`): an in-memory,
Harvest-shaped HTTP API (the endpoints the Greenhouse adapter uses, Basic auth,
`On-Behalf-Of` on writes, `Link` pagination) that sends correctly signed Greenhouse web
hooks when an application is created, moved, rejected or hired.

Controls, as Python methods and under /_fake/ over HTTP: add a job, apply, move an
application to a stage, reject or hire it; and fault injection: fail the next N API
requests with 500, or perform the next N candidate creates and then answer 502 as if the
response had been lost.
"""

from __future__ import annotations

import base64
import itertools
import json
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from rapport.services.ats.greenhouse import iso, parse_time
from rapport.services.ats.signatures import GREENHOUSE_HEADER, greenhouse_signature
from rapport.services.common.http_thread import ServerThread

DEFAULT_STAGES = ("Application Review", "Phone Screen", "Face to Face", "Offer")
MAX_PER_PAGE = 500


def _now() -> str:
    return iso(datetime.now(UTC))


@dataclass
class Faults:
    fail_next: int = 0  # API requests answered 500 before doing anything
    drop_next_creates: int = 0  # candidate creates performed, then answered 502


@dataclass
class FakeAts:
    """The ATS's state and behaviour; `serve()` puts it on a port."""

    api_key: str = "fake-harvest-key"
    webhook_secret: str = "fake-webhook-secret"
    webhook_url: str = ""
    faults: Faults = field(default_factory=Faults)
    jobs: dict[int, dict] = field(default_factory=dict)
    candidates: dict[int, dict] = field(default_factory=dict)
    applications: dict[int, dict] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)  # (method, path) of API calls
    deliveries: list[tuple[str, int]] = field(default_factory=list)  # (action, HTTP status)

    def __post_init__(self) -> None:
        self._ids = itertools.count(1001)
        self._lock = threading.RLock()

    # ------------------------------------------------------------ controls
    def add_job(self, name: str, stages: tuple[str, ...] = DEFAULT_STAGES) -> str:
        with self._lock:
            job_id = next(self._ids)
            self.jobs[job_id] = {
                "id": job_id,
                "name": name,
                "status": "open",
                "stages": [{"id": next(self._ids), "name": s} for s in stages],
            }
            return str(job_id)

    def apply(self, first_name: str, last_name: str, email: str, job_id: str) -> tuple[str, str]:
        """A person applies (as through a job board): (candidate id, application id)."""
        with self._lock:
            candidate = self._new_candidate(
                {
                    "first_name": first_name,
                    "last_name": last_name,
                    "email_addresses": [{"value": email, "type": "personal"}] if email else [],
                }
            )
            application = self._new_application(candidate["id"], int(job_id))
        self._send("new_candidate_application", application["id"])
        return str(candidate["id"]), str(application["id"])

    def move(self, application_id: str, stage_name: str) -> None:
        with self._lock:
            app = self._application(application_id)
            stages = self.jobs[app["jobs"][0]["id"]]["stages"]
            stage = next((s for s in stages if s["name"] == stage_name), None)
            if stage is None:
                raise KeyError(f"no stage {stage_name!r} in job {app['jobs'][0]['id']}")
            app["current_stage"] = dict(stage)
            app["last_activity_at"] = _now()
        self._send("candidate_stage_change", int(application_id))

    def reject(self, application_id: str, reason: str = "Lacking skill(s)") -> None:
        with self._lock:
            app = self._application(application_id)
            app["status"] = "rejected"
            app["rejected_at"] = app["last_activity_at"] = _now()
            app["rejection_reason"] = {"id": next(self._ids), "name": reason}
        self._send("reject_candidate_application", int(application_id))

    def hire(self, application_id: str) -> None:
        with self._lock:
            app = self._application(application_id)
            app["status"] = "hired"
            app["last_activity_at"] = _now()
        self._send("hire_candidate", int(application_id))

    def candidates_with_email(self, email: str) -> list[dict]:
        with self._lock:
            return [c for c in self.candidates.values() if _has_email(c, email)]

    def applications_of(self, candidate_id: str) -> list[dict]:
        with self._lock:
            return [a for a in self.applications.values() if str(a["candidate_id"]) == candidate_id]

    # ------------------------------------------------------------ state
    def _application(self, application_id: str) -> dict:
        app = self.applications.get(int(application_id))
        if app is None:
            raise KeyError(f"no application {application_id}")
        return app

    def _new_candidate(self, fields: dict) -> dict:
        now = _now()
        candidate = {
            "id": next(self._ids),
            "first_name": fields.get("first_name") or "",
            "last_name": fields.get("last_name") or "",
            "email_addresses": list(fields.get("email_addresses") or ()),
            "phone_numbers": list(fields.get("phone_numbers") or ()),
            "tags": list(fields.get("tags") or ()),
            "created_at": now,
            "updated_at": now,
        }
        self.candidates[candidate["id"]] = candidate
        return candidate

    def _new_application(self, candidate_id: int, job_id: int) -> dict:
        job = self.jobs.get(job_id)
        if job is None:
            raise KeyError(f"no job {job_id}")
        now = _now()
        app = {
            "id": next(self._ids),
            "candidate_id": candidate_id,
            "prospect": False,
            "applied_at": now,
            "rejected_at": None,
            "last_activity_at": now,
            "source": {"id": 1, "public_name": "Rapport"},
            "status": "active",
            "current_stage": dict(job["stages"][0]),
            "jobs": [{"id": job["id"], "name": job["name"]}],
            "rejection_reason": None,
        }
        self.applications[app["id"]] = app
        return app

    def candidate_view(self, candidate: dict) -> dict:
        apps = [a for a in self.applications.values() if a["candidate_id"] == candidate["id"]]
        return candidate | {"application_ids": [a["id"] for a in apps], "applications": apps}

    def _send(self, action: str, application_id: int) -> None:
        """POSTs a signed Greenhouse web hook about the application (when a URL is set)."""
        if not self.webhook_url:
            return
        with self._lock:
            app = dict(self.applications[application_id])
            candidate = self.candidates[app["candidate_id"]]
            app["candidate"] = {
                k: candidate[k]
                for k in (
                    "id",
                    "first_name",
                    "last_name",
                    "email_addresses",
                    "phone_numbers",
                    "tags",
                )
            }
        body = json.dumps({"action": action, "payload": {"application": app}}).encode()
        try:
            response = httpx.post(
                self.webhook_url,
                content=body,
                headers={
                    "Content-Type": "application/json",
                    GREENHOUSE_HEADER: greenhouse_signature(self.webhook_secret, body),
                },
                timeout=30.0,
            )
            status = response.status_code
        except httpx.HTTPError:
            status = 0
        with self._lock:
            self.deliveries.append((action, status))

    # ------------------------------------------------------------ HTTP
    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/v1/candidates", self._candidates, methods=["GET", "POST"]),
                Route("/v1/candidates/{id:int}", self._candidate, methods=["GET"]),
                Route(
                    "/v1/candidates/{id:int}/applications", self._add_application, methods=["POST"]
                ),
                Route("/v1/applications", self._list_applications, methods=["GET"]),
                Route("/v1/applications/{id:int}", self._get_application, methods=["GET"]),
                Route("/v1/jobs", self._jobs, methods=["GET"]),
                Route("/_fake/jobs", self._control_job, methods=["POST"]),
                Route("/_fake/apply", self._control_apply, methods=["POST"]),
                Route("/_fake/applications/{id:int}/{verb:str}", self._control, methods=["POST"]),
                Route("/_fake/faults", self._control_faults, methods=["POST"]),
                Route("/_fake/state", self._state, methods=["GET"]),
            ]
        )

    def serve(self, host: str = "127.0.0.1", port: int = 0) -> ServerThread:
        return ServerThread(self.app(), host, port).start()

    def _gate(self, request: Request, write: bool = False) -> Response | None:
        """Auth, On-Behalf-Of and injected failures, as the API would answer them."""
        with self._lock:
            self.requests.append((request.method, request.url.path))
            if self.faults.fail_next > 0:
                self.faults.fail_next -= 1
                return JSONResponse({"message": "injected failure"}, status_code=500)
        auth = request.headers.get("authorization", "")
        expected = "Basic " + base64.b64encode(f"{self.api_key}:".encode()).decode()
        if auth != expected:
            return JSONResponse({"message": "Invalid Basic Auth credentials"}, status_code=401)
        if write and not request.headers.get("on-behalf-of"):
            return JSONResponse({"message": "Missing On-Behalf-Of user ID"}, status_code=403)
        return None

    def _page(self, request: Request, items: list[dict]) -> JSONResponse:
        try:
            per_page = min(MAX_PER_PAGE, max(1, int(request.query_params.get("per_page", 100))))
            page = max(1, int(request.query_params.get("page", 1)))
        except ValueError:
            return JSONResponse({"message": "per_page and page are numbers"}, status_code=422)
        chunk = items[(page - 1) * per_page : page * per_page]
        headers = {}
        if page * per_page < len(items):
            following = request.url.include_query_params(page=page + 1, per_page=per_page)
            headers["Link"] = f'<{following}>; rel="next"'
        return JSONResponse(chunk, headers=headers)

    async def _candidates(self, request: Request) -> Response:
        if request.method == "POST":
            return await self._create_candidate(request)
        refused = self._gate(request)
        if refused:
            return refused
        email = request.query_params.get("email", "")
        after = parse_time(request.query_params.get("created_after"))
        with self._lock:
            found = [
                self.candidate_view(c)
                for c in self.candidates.values()
                if (not email or _has_email(c, email))
                and (after is None or parse_time(c["created_at"]) > after)
            ]
        return self._page(request, found)

    async def _create_candidate(self, request: Request) -> Response:
        refused = self._gate(request, write=True)
        if refused:
            return refused
        body = await request.json()
        jobs = [a.get("job_id") for a in body.get("applications") or ()]
        if not body.get("first_name") or not body.get("last_name"):
            return JSONResponse({"message": "first_name and last_name are required"}, 422)
        if not jobs or any(j not in self.jobs for j in jobs):
            return JSONResponse({"message": "applications need an existing job_id"}, 422)
        with self._lock:
            candidate = self._new_candidate(body)
            created = [self._new_application(candidate["id"], j) for j in jobs]
            view = self.candidate_view(candidate)
            dropped = self.faults.drop_next_creates > 0
            if dropped:
                self.faults.drop_next_creates -= 1
        for app in created:
            await run_in_threadpool(self._send, "new_candidate_application", app["id"])
        if dropped:
            return JSONResponse({"message": "upstream connection lost"}, status_code=502)
        return JSONResponse(view, status_code=201)

    async def _candidate(self, request: Request) -> Response:
        refused = self._gate(request)
        if refused:
            return refused
        with self._lock:
            candidate = self.candidates.get(request.path_params["id"])
            view = self.candidate_view(candidate) if candidate else None
        if view is None:
            return JSONResponse({"message": "Resource not found"}, status_code=404)
        return JSONResponse(view)

    async def _add_application(self, request: Request) -> Response:
        refused = self._gate(request, write=True)
        if refused:
            return refused
        body = await request.json()
        with self._lock:
            if request.path_params["id"] not in self.candidates:
                return JSONResponse({"message": "Resource not found"}, status_code=404)
            if body.get("job_id") not in self.jobs:
                return JSONResponse({"message": "job_id must be an existing job"}, 422)
            app = self._new_application(request.path_params["id"], body["job_id"])
        await run_in_threadpool(self._send, "new_candidate_application", app["id"])
        return JSONResponse(app, status_code=201)

    async def _list_applications(self, request: Request) -> Response:
        refused = self._gate(request)
        if refused:
            return refused
        after = parse_time(request.query_params.get("last_activity_after"))
        with self._lock:
            found = [
                dict(a)
                for a in self.applications.values()
                if after is None or parse_time(a["last_activity_at"]) > after
            ]
        return self._page(request, found)

    async def _get_application(self, request: Request) -> Response:
        refused = self._gate(request)
        if refused:
            return refused
        with self._lock:
            app = self.applications.get(request.path_params["id"])
        if app is None:
            return JSONResponse({"message": "Resource not found"}, status_code=404)
        return JSONResponse(app)

    async def _jobs(self, request: Request) -> Response:
        refused = self._gate(request)
        if refused:
            return refused
        with self._lock:
            return self._page(request, list(self.jobs.values()))

    # ------------------------------------------------------------ HTTP controls
    async def _control_job(self, request: Request) -> Response:
        body = await request.json()
        stages = tuple(body.get("stages") or DEFAULT_STAGES)
        return JSONResponse({"job_id": self.add_job(str(body.get("name", "Job")), stages)})

    async def _control_apply(self, request: Request) -> Response:
        b = await request.json()
        try:
            ids = await run_in_threadpool(
                self.apply,
                b.get("first_name", ""),
                b.get("last_name", ""),
                b.get("email", ""),
                str(b.get("job_id", "")),
            )
        except (KeyError, ValueError) as exc:
            return JSONResponse({"message": str(exc)}, status_code=404)
        return JSONResponse({"candidate_id": ids[0], "application_id": ids[1]})

    async def _control(self, request: Request) -> Response:
        app_id, verb = str(request.path_params["id"]), request.path_params["verb"]
        body = await request.json() if await request.body() else {}
        actions = {
            "move": lambda: self.move(app_id, str(body.get("stage", ""))),
            "reject": lambda: self.reject(app_id, str(body.get("reason", "Lacking skill(s)"))),
            "hire": lambda: self.hire(app_id),
        }
        if verb not in actions:
            return JSONResponse({"message": "move, reject or hire"}, status_code=404)
        try:
            await run_in_threadpool(actions[verb])
        except KeyError as exc:
            return JSONResponse({"message": str(exc)}, status_code=404)
        return JSONResponse(self.applications[int(app_id)])

    async def _control_faults(self, request: Request) -> Response:
        body = await request.json()
        with self._lock:
            self.faults.fail_next = int(body.get("fail_next", 0))
            self.faults.drop_next_creates = int(body.get("drop_next_creates", 0))
        return JSONResponse(
            {"fail_next": self.faults.fail_next, "drop_next_creates": self.faults.drop_next_creates}
        )

    async def _state(self, request: Request) -> Response:
        with self._lock:
            return JSONResponse(
                {
                    "jobs": list(self.jobs.values()),
                    "candidates": [self.candidate_view(c) for c in self.candidates.values()],
                    "deliveries": self.deliveries,
                }
            )


def _has_email(candidate: dict, email: str) -> bool:
    wanted = email.strip().lower()
    return any(
        str(e.get("value", "")).strip().lower() == wanted for e in candidate["email_addresses"]
    )


__all__ = ["DEFAULT_STAGES", "FakeAts", "Faults"]
