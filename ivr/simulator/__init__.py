"""A simulated FreeSWITCH that speaks real ESL over TCP, with scripted and interactive callers.

It plays FreeSWITCH's side of the outbound event socket for each simulated call, header for
header and event for event as recorded from a real FreeSWITCH 1.11.3 (``tests/fs_traces``), so
the controller's FreeSWITCH channel is exercised for real in tests and demos::

    sim = SimulatedFreeSWITCH(("127.0.0.1", port), agents={"user/1001": "available"})
    call = sim.place_call([Step("hear", "Welcome"), Step("press", "1"), Step("hangup", True)])
    call.wait(timeout=30)
    call.transcript, call.remaining_steps, call.hangup_cause, call.variables, call.commands

Place a call without steps to drive it live (``call.press("1")``, ``call.hangup()``) and pass
``on_event`` to see each transcript line as it happens.
"""

from ivr.simulator.bridge import AGENT_BEHAVIOURS
from ivr.simulator.faults import Fault, FaultPlan
from ivr.simulator.simulator import SimulatedCall, SimulatedFreeSWITCH

__all__ = ["AGENT_BEHAVIOURS", "Fault", "FaultPlan", "SimulatedCall", "SimulatedFreeSWITCH"]
