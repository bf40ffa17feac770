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

Calls are recorded as FreeSWITCH records them (``uuid_record``, ``record_session``: see
``ivr.simulator.record_commands``) into real WAV files in which each simulated sound is a tone
on its side of the call: prompts on the side the caller hears (right), keys and the caller's
voice on the side they speak (left), the agent's voice at 1000 Hz, the caller's at 300 Hz, hold
music at 500 Hz (``ivr.simulator.recording`` lists them all).
"""

from ivr.simulator.bridge import AGENT_BEHAVIOURS
from ivr.simulator.faults import Fault, FaultPlan
from ivr.simulator.simulator import SimulatedCall, SimulatedFreeSWITCH

__all__ = ["AGENT_BEHAVIOURS", "Fault", "FaultPlan", "SimulatedCall", "SimulatedFreeSWITCH"]
