"""`rapport ats webhooks`: the HTTP endpoint web hooks from the ATS arrive at.

- POST /hooks/ats/greenhouse: Greenhouse web hooks (`Signature: sha256 <hex>`).
- POST /hooks/ats/generic: our documented JSON shape (`X-Rapport-Signature`, see
  generic.py), for other tools.

Forged, unsigned or stale deliveries: 401 and nothing written. Malformed: 400. A
duplicate (same event, same delivery) is acknowledged and changes nothing. Each event is
applied in its own transaction before the answer, so a 2xx means it is in the store; a
store error answers 503 and the ATS delivers again later.
"""

from __future__ import annotations

import logging

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from rapport.core.errors import NotFound, RapportError
from rapport.services.ats.adapter import WebhookMalformed, WebhookRefused
from rapport.services.ats.use_cases import AtsUseCases

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024


async def _body(request: Request) -> bytes | None:
    """The raw body (signatures are over these bytes), or None past the size limit."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        return None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def build_app(use_cases: AtsUseCases) -> Starlette:
    async def receive(request: Request) -> JSONResponse:
        source = request.path_params["source"]
        body = await _body(request)
        if body is None:
            return JSONResponse({"error": "body too large"}, status_code=413)
        try:
            outcomes = await run_in_threadpool(
                use_cases.receive_webhook, source, request.headers, body
            )
        except WebhookRefused as exc:
            log.warning("ATS web hook refused from %s: %s", request.client, exc)
            return JSONResponse({"error": str(exc)}, status_code=401)
        except WebhookMalformed as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        except NotFound as exc:  # a source with no adapter configured
            return JSONResponse({"error": str(exc)}, status_code=404)
        except RapportError as exc:  # e.g. an event the store refuses as invalid
            return JSONResponse({"error": str(exc)}, status_code=422)
        except Exception:
            log.exception("ATS web hook not recorded; the sender will retry")
            return JSONResponse({"error": "not recorded, try again later"}, status_code=503)
        return JSONResponse(
            {"events": [{"outcome": o.outcome, "candidate_id": o.candidate_id} for o in outcomes]}
        )

    return Starlette(
        routes=[Route("/hooks/ats/{source:str}", receive, methods=["POST"])],
    )


__all__ = ["MAX_BODY_BYTES", "build_app"]
