"""Automatic call distribution: agents, waiting lines, callbacks, and what keeps them.

``AgentPool`` (``pool.py``) holds agent states and the waiting line of every queue and decides,
event by event, which agent rings for which caller. ``CallbackService`` (``callbacks.py``) turns
waiting callers into callbacks that keep their place and dials them. ``AcdStore``
(``store.py``) keeps agent states, callbacks and handle times across restarts. ``ContactCenter``
(``center.py``) runs all of it in a controller: the timekeeper, the reconciliation sweep, and the
control used by ``ivr agents`` and the JSON HTTP API (``api.py``).
"""

from ivr.acd.callbacks import (
    CALLBACK_VARIABLE,
    AgentRing,
    CallbackAttempt,
    CallbackDialer,
    CallbackResult,
    CallbackService,
)
from ivr.acd.estimate import WaitEstimate, estimate_wait
from ivr.acd.model import (
    AVAILABLE,
    BUSY,
    LOGGED_OUT,
    ON_BREAK,
    ON_CALL,
    RINGING,
    STATES,
    WRAP_UP,
    AcdError,
    AgentState,
    Callback,
    StateError,
    UnknownAgent,
    Waiting,
)
from ivr.acd.pool import AgentPool
from ivr.acd.store import AcdStore, SqliteAcdStore, StoreError

__all__ = [
    "AVAILABLE",
    "BUSY",
    "CALLBACK_VARIABLE",
    "LOGGED_OUT",
    "ON_BREAK",
    "ON_CALL",
    "RINGING",
    "STATES",
    "WRAP_UP",
    "AcdError",
    "AcdStore",
    "AgentPool",
    "AgentRing",
    "AgentState",
    "Callback",
    "CallbackAttempt",
    "CallbackDialer",
    "CallbackResult",
    "CallbackService",
    "SqliteAcdStore",
    "StateError",
    "StoreError",
    "UnknownAgent",
    "WaitEstimate",
    "Waiting",
    "estimate_wait",
]
