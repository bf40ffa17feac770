"""Recording one call: consent, the start, silence while sensitive keys go in, the sealed file.

A call follows at most one ``record:`` policy at a time (``ivr.flow.recording``): its tenant's,
else its flow's, from the answer or from an agent's answer; else the policy of the queue it
waits in, from the agent's answer. Before the recording starts the caller hears the consent
prompt, once, and may opt out with its key (journaled as ``declined``). While a node marked
sensitive collects keys the recording is masked (FreeSWITCH writes silence, the file keeps its
length) and the span is journaled; a mask that fails stops the recording, since card numbers
must never be kept. At the end the file is closed by the switch and sealed: its length, channels
and sha256 are read from it and journaled with the call. Nothing here may cost the caller the
call: a switch that cannot record is journaled as ``failed`` and the flow goes on.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import wave
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from gevent.threadpool import ThreadPool

from ivr.flow.recording import RecordPolicy
from ivr.runtime.channel import ChannelError
from ivr.runtime.record import Recording

HASH_CHUNK = 1 << 16
_sealer: ThreadPool | None = None
"""The thread recordings are hashed in: its own, apart from the pool TTS runs espeak in."""


def _in_sealer_thread(path: str) -> tuple[float | None, int | None, str]:
    global _sealer
    if _sealer is None:
        _sealer = ThreadPool(1)
    return _sealer.apply(seal, (path,))


def seal(path: str) -> tuple[float | None, int | None, str]:
    """A closed file's length in seconds and channels (None when it is no WAV) and its sha256.

    Raises:
        OSError: the file cannot be read.
    """
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while chunk := file.read(HASH_CHUNK):
            digest.update(chunk)
    try:
        with wave.open(path, "rb") as audio:
            seconds = audio.getnframes() / audio.getframerate()
            channels = audio.getnchannels()
    except (wave.Error, EOFError, ZeroDivisionError):
        return None, None, digest.hexdigest()
    return round(seconds, 3), channels, digest.hexdigest()


class CallRecorder:
    """The recording of one call, driven by the interpreter at the answer, queues and inputs."""

    def __init__(self, call: Any) -> None:
        """Follow ``call`` (an ``ivr.runtime.call.Call``, which imports this module)."""
        # A weak reference: the call holds its recorder, and a finished call must be freed as
        # soon as its last reference goes, without a cycle for the collector (ivr/gc_policy.py).
        self._call = weakref.ref(call)
        tenant = call.tenant
        self.policy: RecordPolicy | None = (tenant.record if tenant else None) or call.flow.record
        self.current: Recording | None = None
        self._asked = False
        self._declined = False

    @property
    def call(self) -> Any:
        """The call recorded (alive while it runs: it is the call that drives this)."""
        return self._call()

    @property
    def recording(self) -> bool:
        """A file is being written (or armed for the agent's answer), not failed or stopped."""
        return self.current is not None and self.current.status == "recorded"

    def answered(self) -> None:
        """The call was answered: a policy ``from: answer`` asks consent and starts now."""
        if self.policy is not None and self.policy.start == "answer":
            self._begin(self.policy, from_bridge=False)

    def before_agent(self, queue_policy: RecordPolicy | None) -> None:
        """The caller is about to be put through to an agent (a queue's ring).

        A policy ``from: agent`` (the call's, else the queue's) arms the recording now, so it
        starts with the conversation: FreeSWITCH writes only while the caller is bridged.
        """
        policy = self.policy if self.policy is not None else queue_policy
        if policy is not None and policy.start == "agent":
            self._begin(policy, from_bridge=True)

    def consent_before_queue(self, queue_policy: RecordPolicy | None) -> None:
        """Ask consent as the caller enters a queue, for a recording from the agent's answer."""
        policy = self.policy if self.policy is not None else queue_policy
        if policy is not None and policy.start == "agent":
            self._ask_consent(policy)

    def _ask_consent(self, policy: RecordPolicy) -> bool:
        """Play the consent prompt once per call; False when the caller opted out."""
        if self._asked or policy.consent is None:
            return not self._declined
        self._asked = True
        call = self.call
        key = call.play(call.utterances(policy.consent), keys=policy.opt_out_key or "")
        if key and key == policy.opt_out_key:
            self._declined = True
            call.log.info("the caller declined the recording (key %s)", key)
            call.record.recordings.append(
                Recording("", policy.owner, "declined", call.now(), policy.stereo)
            )
        return not self._declined

    def _begin(self, policy: RecordPolicy, *, from_bridge: bool) -> None:
        if self.current is not None or not self._ask_consent(policy):
            return
        call = self.call
        now = call.now()
        relative = policy.file_path(
            tenant=call.tenant.id if call.tenant else "none",
            flow=call.flow.id,
            call_id=call.info.call_id,
            date=now.astimezone(dt.UTC).strftime("%Y-%m-%d"),
            time=now.astimezone(dt.UTC).strftime("%H%M%S"),
        )
        path = os.path.join(call.services.recordings_dir, relative)
        keep = now + dt.timedelta(seconds=policy.retention) if policy.retention else None
        self.current = Recording(
            path, policy.owner, "recorded", now, policy.stereo, keep_until=keep
        )
        call.record.recordings.append(self.current)
        try:
            # FreeSWITCH makes the file's folders itself (switch_ivr_record_session_event).
            call.channel.start_recording(path, stereo=policy.stereo, from_bridge=from_bridge)
        except ChannelError as exc:
            call.log.error("the call cannot be recorded: %s", exc)
            self.current.status, self.current.detail = "failed", str(exc)
            return
        call.log.info("recording to %s (%s)", path, policy.owner)

    @contextmanager
    def masked(self, sensitive: bool) -> Iterator[None]:
        """Silence the recording while the body collects a sensitive entry (and note the span)."""
        current = self.current
        if not sensitive or current is None or not self.recording:
            yield
            return
        call = self.call
        begun = (call.now() - current.started_at).total_seconds()
        try:
            call.channel.mask_recording(current.path, True)
        except ChannelError as exc:
            # Never record a card number: without a mask the recording ends here.
            call.log.error("the recording cannot be masked, so it stops: %s", exc)
            self._stop(current, "stopped", f"could not mask: {exc}")
            yield
            return
        try:
            yield
        finally:
            current.masked.append((round(begun, 3), self._offset(current)))
            try:
                call.channel.mask_recording(current.path, False)
            except ChannelError as exc:
                call.log.warning("the recording could not be unmasked: %s", exc)
                current.detail = f"masked to the end: {exc}"

    def _offset(self, current: Recording) -> float:
        return round((self.call.now() - current.started_at).total_seconds(), 3)

    def finish(self) -> None:
        """At the call's end: let the switch close the file, then seal it (never raises)."""
        current = self.current
        if current is None or current.status != "recorded":
            return
        if self.call.record.transferred_to is not None:
            # The call goes on where it was sent, and so does its recording (stopping it here
            # would cut the conversation after a transfer): the switch closes it at the end.
            current.detail = "goes on after the transfer; not sealed"
            return
        self._stop(current, "recorded", "")

    def _stop(self, current: Recording, status: str, detail: str) -> None:
        call = self.call
        current.status, current.detail = status, detail
        try:
            closed = call.channel.stop_recording(current.path)
        except Exception as exc:  # the call is over either way; the file may still be sound
            call.log.warning("stopping the recording failed: %s", exc)
            closed = False
        if not closed:
            current.seconds = self._offset(current)
            current.detail = current.detail or "the switch did not say the file was closed"
            return
        try:
            # In a thread: hashing a long call's file must not hold up the other calls' prompts.
            sealed = _in_sealer_thread(current.path)
            current.seconds, current.channels, current.sha256 = sealed
        except FileNotFoundError:
            # FreeSWITCH removes a file it wrote nothing to (no agent ever answered).
            current.status, current.detail = "discarded", "nothing was recorded"
        except OSError as exc:
            current.seconds = self._offset(current)
            current.detail = f"cannot read the file here to seal it: {exc.strerror}"
