"""The dependencies the routes name (who is asking, the database), and the transaction a read of patient data needs."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Annotated, cast

from fastapi import Depends, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from timebok.backend import support_write
from timebok.backend.auth import AGENT_HEADER, Principal
from timebok.backend.db import Database
from timebok.backend.principals import Principals

# Every dependency here is async: a sync one would cost each request a trip to the thread pool, and under load
# each trip waits for the GIL behind other requests' threads.


async def principal(request: Request) -> Principal:
    # A token seen in the last seconds is answered here on the event loop; a new token is looked up in a thread.
    principals = cast(Principals, request.app.state.principals)  # set once by create_app; Starlette types state as Any
    authorization, agent = request.headers.get("authorization"), request.headers.get(AGENT_HEADER)
    who = principals.known(authorization, agent)
    if who is None:
        who = await run_in_threadpool(principals.who, authorization, agent)
    if who.agent is not None and support_write.is_write(request.method, request.url.path):
        # A support agent acting as a citizen is read-only unless they chose «Skriv som»: refused before the body is read.
        await run_in_threadpool(_may_write, cast(Database, request.app.state.db), who)
    return who


def _may_write(db: Database, who: Principal) -> None:
    with db.reading() as session:
        support_write.refuse_unless_writing(session, who)


async def database(request: Request) -> Database:
    return cast(Database, request.app.state.db)  # set once by create_app; Starlette types state as Any


# The caller, or 401/403 before the route runs. In a route it comes before any body, so FastAPI resolves it
# first and a caller without a valid token hears 401 before the body is read or judged.
CurrentPrincipal = Annotated[Principal, Depends(principal)]
DatabaseDep = Annotated[Database, Depends(database)]


def patient_read(db: Database, who: Principal) -> AbstractContextManager[Session]:
    """The transaction to read patient data in: staff and support reads are audited, and the audit row is a write,
    so theirs is a writing one; a citizen's own reads are a plain read and never queue behind bookings.
    A helper, not a dependency: the route opens it where it needs it (after any 304, in its own thread), and each
    dependency costs every request some microseconds of solving."""
    return db.writing() if who.audited else db.reading()
