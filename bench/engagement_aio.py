"""EngagementService on grpc.aio, for bench/engagement.py to measure beside the sync server.

The same holder, keeper and use cases as `rapport serve` (`build_engagement`), behind an
asyncio server with ScoreCandidate and GetModelInfo only, and without the interceptor (no
request ids, access log or server deadlines). Handlers run the use case on the event loop:
right for answers the score book holds (the benchmark warms it first), wrong for a miss,
which reads the store and would stall every other call; a production aio server would hand
misses to a thread pool. Settings come from RAPPORT_* as for `rapport serve`.

    python bench/engagement_aio.py [--port 0]   # prints "listening on HOST:PORT"
"""

from __future__ import annotations

import argparse
import asyncio
import signal

import grpc
from grpc_status import rpc_status

from rapport.core.config import Settings
from rapport.core.errors import RapportError
from rapport.core.store.db import Database
from rapport.services.common.errors import status_code_for, to_status
from rapport.services.engagement import convert
from rapport.services.engagement.assembly import build_engagement
from rapport.v1 import engagement_pb2_grpc as pb_grpc


class AioEngagementServicer(pb_grpc.EngagementServiceServicer):
    def __init__(self, use_cases) -> None:
        self._uc = use_cases

    async def _fail(self, context, exc: Exception) -> None:
        code = status_code_for(exc)
        if code is None or not isinstance(exc, RapportError):
            await context.abort(grpc.StatusCode.INTERNAL, "internal error")
        await context.abort_with_status(rpc_status.to_status(to_status(exc, code)))

    async def ScoreCandidate(self, request, context):
        try:
            return convert.score_to_pb(
                self._uc.score_one(request.candidate_id, request.top_factors)
            )
        except Exception as exc:
            await self._fail(context, exc)

    async def GetModelInfo(self, request, context):
        return convert.model_info_to_pb(self._uc.model_info())


async def serve(port: int) -> None:
    settings = Settings()
    db = Database(settings.effective_database_url)
    engagement = build_engagement(settings, db)
    engagement.start()
    server = grpc.aio.server()
    pb_grpc.add_EngagementServiceServicer_to_server(
        AioEngagementServicer(engagement.use_cases), server
    )
    bound = server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    print(f"aio listening on 127.0.0.1:{bound}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await server.stop(2.0)
    engagement.close()
    db.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--port", type=int, default=0)
    asyncio.run(serve(ap.parse_args().port))


if __name__ == "__main__":
    main()
