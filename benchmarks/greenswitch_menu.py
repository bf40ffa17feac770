"""The baseline of side_by_side.py: benchmarks/menu served by a plain greenswitch application.

This is how a developer would write the benchmark's menu (``benchmarks/menu/menu.yaml``) by hand
with greenswitch's ``OutboundESLServer``, and nothing more: per call it sends ``connect``,
``myevents`` and ``linger`` (as greenswitch's own example does), answers, plays the welcome, asks
for a key with ``play_and_get_digits`` (one try per command: the retry has its own prompt, and an
invalid key its own message, as in the flow), plays the answer and the goodbye, and hangs up. It
sends the same applications with the same arguments as ``ivr serve`` does for that flow, so the
two do the same work per call and their figures can be compared.

greenswitch's server refuses calls beyond ``max_connections`` (100 by default) by closing them;
this application passes 10000, so that under load it refuses no call and the comparison measures
speed, not that cap.

It plays ``<SOUNDS>/en/8000/<name>.wav``, the same files as ``ivr serve --sounds SOUNDS``;
side_by_side.py writes them (silent WAVs as long as their words take to say, with the words in a
``.txt`` beside each, which is all the simulated FreeSWITCH needs). SIGTERM stops taking calls,
lets the calls going finish and exits.

    .venv/bin/python benchmarks/greenswitch_menu.py --listen 127.0.0.1:8084 --sounds DIR
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from pathlib import Path

import gevent
from greenswitch.esl import OutboundESLServer, OutboundSessionHasGoneAway

MAX_CONNECTIONS = 10000
"""Calls held at once before greenswitch refuses more (its default, 100, is too few for load)."""
PROMPTS = (
    "bench_welcome",
    "bench_menu",
    "bench_menu_retry",
    "bench_invalid",
    "bench_hours",
    "bench_address",
    "bench_goodbye",
)
"""The recordings of benchmarks/menu/menu.yaml (its ``sound:`` names)."""
CHOICES = {"1": "bench_hours", "2": "bench_address"}
"""Menu key -> the answer played for it."""
ATTEMPTS = 2
TIMEOUT_MS = 3000
DIGIT_TIMEOUT_MS = 2000
DIGITS_VARIABLE = "menu_choice"
HANGUP_TIMEOUT = 5.0
"""Seconds to wait for the hangup to be carried out before letting go of the call."""


class MenuCall:
    """One call, in its own greenlet (greenswitch's ``application``).

    Args:
        session: greenswitch's outbound session of the call.
        sounds: where the recordings are (``en/8000/<name>.wav`` inside).
    """

    def __init__(self, session, sounds: Path) -> None:
        self.session = session
        self.sounds = sounds

    def path(self, name: str) -> str:
        """The file of a recording, by the absolute path the controller plays too."""
        return str(self.sounds / "en" / "8000" / f"{name}.wav")

    def run(self) -> None:
        """The whole call: answer, welcome, menu, answer, goodbye, hang up."""
        session = self.session
        try:
            session.connect()  # already done by the server; returns at once
            session.myevents()
            session.linger()  # keep the socket after a hang-up, to read the last events
            session.answer()
            # FreeSWITCH's default playback terminator is '*': the welcome is not to be cut
            # short, keys belong to the menu (the flow's barge_in: false).
            session.call_command("set", "playback_terminators=none")
            self.play("bench_welcome")
            choice = self.menu()
            if choice is not None:
                self.play(CHOICES[choice])
            self.play("bench_goodbye")
            # Not session.hangup(): it returns as soon as FreeSWITCH has queued the hangup, and
            # the server then sends 'exit' at once, which may end the socket application with
            # the channel still up (the dialplan would go on after 'socket'). Wait for it.
            session.call_command(
                "hangup", "NORMAL_CLEARING", block=True, response_timeout=HANGUP_TIMEOUT
            )
        except OutboundSessionHasGoneAway:
            # The caller hung up, or the hangup's linger notice came before its EXECUTE_COMPLETE:
            # either way the call is over.
            pass

    def play(self, name: str) -> None:
        """Play a recording to its end.

        Raises:
            OutboundSessionHasGoneAway: the caller hung up (greenswitch still returns the
                playback's EXECUTE_COMPLETE then, so it has to be asked).
        """
        self.session.playback(self.path(name))
        self.session.raise_if_disconnected()

    def menu(self) -> str | None:
        """Ask for a key up to ATTEMPTS times; the key chosen, or None."""
        prompt = "bench_menu"
        for _ in range(ATTEMPTS):
            # One try per command, like the controller: the retry prompt differs, and an
            # invalid key hears its own message. Any single key is accepted by the regular
            # expression, so that an invalid one comes back to be told apart from silence
            # (greenswitch returns only the variable, not read_result or <var>_invalid).
            # transfer_on_fail must be given: greenswitch formats a None into the command as
            # the text "None", which FreeSWITCH takes as an extension to transfer to after the
            # last failed try.
            key = self.session.play_and_get_digits(
                min_digits=1,
                max_digits=1,
                max_attempts=1,
                timeout=TIMEOUT_MS,
                terminators="none",
                prompt_file=self.path(prompt),
                error_file="silence_stream://1",
                variable=DIGITS_VARIABLE,
                digits_regex="^[0-9*#]$",
                digit_timeout=DIGIT_TIMEOUT_MS,
                transfer_on_fail="",
            )
            self.session.raise_if_disconnected()
            if key in CHOICES:
                return key
            if key:
                self.play("bench_invalid")
            prompt = "bench_menu_retry"
        return None


def _address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not HOST:PORT, e.g. 127.0.0.1:8084")
    return host, int(port)


def main() -> int:
    """Serve the menu until SIGTERM or Ctrl-C."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listen", type=_address, default=("127.0.0.1", 8084), metavar="HOST:PORT")
    parser.add_argument("--sounds", required=True, type=Path, metavar="DIR")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every call")
    args = parser.parse_args()
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    sounds = args.sounds.resolve()
    missing = [name for name in PROMPTS if not (sounds / "en" / "8000" / f"{name}.wav").is_file()]
    if missing:
        print(f"greenswitch_menu: missing in {sounds}/en/8000: {missing}", file=sys.stderr)
        return 2
    host, port = args.listen
    server = OutboundESLServer(
        bind_address=host,
        bind_port=port,
        application=lambda session: MenuCall(session, sounds),
        max_connections=MAX_CONNECTIONS,
    )
    # stop() ends listen()'s accept loop; listen() then waits for the calls going to end.
    gevent.signal_handler(signal.SIGTERM, server.stop)
    gevent.signal_handler(signal.SIGINT, server.stop)
    server.listen()
    return 0


if __name__ == "__main__":
    sys.exit(main())
