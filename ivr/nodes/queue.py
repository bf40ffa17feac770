"""``queue``: wait for an operator with hold music and announcements, then talk to an agent."""

from __future__ import annotations

import datetime as dt
import math

from ivr.flow.fields import Duration, Edge, EdgeMap, Flag, Obj, PromptField, Template, Text
from ivr.nodes.base import Node, NodeError
from ivr.runtime.channel import CallerHungUp, Utterance

RETRY_SECONDS = 3.0
"""How often a waiting caller at the head of the line looks for a free agent again."""
ASSUMED_HANDLE_SECONDS = 180.0
"""Average call length assumed for wait estimates until the queue has its own history."""

_POSITION = {
    "en": "You are number {n} in line.",
    "ru": "Ваш номер в очереди: {n}.",
    "bg": "Вие сте номер {n} на опашката.",
}
# (under a minute, one minute, {m} minutes)
_WAIT = {
    "en": (
        "Your expected wait is less than a minute.",
        "Your expected wait is about one minute.",
        "Your expected wait is about {m} minutes.",
    ),
    "ru": (
        "Ожидаемое время ожидания меньше минуты.",
        "Ожидаемое время ожидания около одной минуты.",
        "Ожидаемое время ожидания около {m} мин.",
    ),
    "bg": (
        "Очакваното време за изчакване е под минута.",
        "Очакваното време за изчакване е около една минута.",
        "Очакваното време за изчакване е около {m} минути.",
    ),
}
_WHISPER = {"en": "Call for {name}.", "ru": "Звонок для {name}.", "bg": "Обаждане за {name}."}


def _text(table: dict, language: str):
    return table.get(language.split("-")[0], table["en"])


class Queue(Node):
    """Puts the caller in an operator queue until an agent answers.

    The wait also ends when ``max_wait`` passes or the caller presses one of ``keys``. Hold
    music plays throughout, also while an agent's phone rings, so the caller never hears silence.
    """

    type_name = "queue"
    summary = "Wait in an operator queue and talk to an agent"
    ends_call = True
    options = {
        "queue": Text("A queue from queues.yaml", required=True),
        "priority": Template(
            "Higher is served first, e.g. '{{ 10 if acct and acct.vip else 0 }}'", default="0"
        ),
        "prompt": PromptField("Played once on entering the queue"),
        "announce": Obj(
            "Position and wait announcements",
            fields={
                "position": Flag("Say the caller's place in line", default=False),
                "wait_time": Flag("Say the expected wait", default=False),
                "every": Duration("Repeat this often", default=60.0),
            },
        ),
        "hold_music": Text("Music while waiting (default: the queue's hold_music)"),
        "max_wait": Duration("Longest wait before on_timeout"),
        "on_timeout": Edge("Where callers go after max_wait", label="timeout"),
        "when_empty": Edge(
            "Where callers go when no agent of the queue is logged in", label="empty"
        ),
        "keys": EdgeMap(
            "Keys callers may press while waiting and where each leads",
            key_pattern=r"[0-9*#]",
            key_doc="one key (0-9, * or #)",
        ),
    }

    def check(self, project) -> None:
        name = self.opts["queue"]
        if name not in project.project.queues:
            project.unknown(
                "queue", name, list(project.project.queues), self.marks["queue"], "queues.yaml"
            )
        if self.opts["max_wait"] is not None and self.opts["on_timeout"] is None:
            project.error(
                "max_wait needs on_timeout: where callers go when the wait is over",
                self.marks["max_wait"],
            )
        if self.opts["on_timeout"] is not None and self.opts["max_wait"] is None:
            project.error(
                "on_timeout needs max_wait: how long callers wait before it",
                self.marks["on_timeout"],
            )
        self.opts["announce"] = self.opts["announce"] or {
            "position": False,
            "wait_time": False,
            "every": 60.0,
        }

    def run(self, call) -> str | None:
        queue = call.project.queues[self.opts["queue"]]
        pool = call.services.agents
        try:
            priority = int(call.render(self.opts["priority"]).strip() or 0)
        except ValueError as exc:
            raise NodeError(f"priority is not a whole number: {exc}") from exc
        if self.opts["when_empty"] is not None and not pool.staffed(queue):
            call.log.info("queue %s has no agent logged in", queue.name)
            return "empty"
        music = self.opts["hold_music"] or queue.hold_music
        now = call.channel.now()
        entry = pool.enqueue(queue.name, call.info.call_id, priority, now)
        record = call.record
        record.queue, record.queued_at, record.in_queue_at_end = queue.name, now, True
        call.channel.set_var("ivr_queue", queue.name)
        call.log.info("enters queue %s with priority %d", queue.name, priority)
        try:
            label = self._wait(call, queue, pool, entry, music)
        except CallerHungUp:
            pool.leave(entry)
            raise
        pool.leave(entry)
        record.in_queue_at_end = False
        if label is None:
            call.channel.hangup()
        return label

    def _wait(self, call, queue, pool, entry, music) -> str | None:
        # The wait counts from entering the queue, so a long entry prompt does not stretch it.
        start = entry.arrived
        call.say(self.opts["prompt"])
        announce = self.opts["announce"]
        announcing = announce["position"] or announce["wait_time"]
        deadline = start + dt.timedelta(seconds=self.opts["max_wait"] or 0)
        next_announce = start
        keys = "".join(self.opts["keys"] or {})
        tried: set[str] = set()
        while True:
            now = call.channel.now()
            if self.opts["max_wait"] is not None and now >= deadline:
                call.log.info("waited %s in queue %s: timeout", now - start, queue.name)
                return "timeout"
            if announcing and now >= next_announce:
                call.channel.play(self._announcement(call, queue, pool, entry), barge_in=False)
                next_announce = call.channel.now() + dt.timedelta(seconds=announce["every"])
            agents = pool.reserve(queue, entry, tried, call.channel.now())
            if agents:
                if self._offer(call, queue, pool, agents, music):
                    return None
                tried.update(a.config.id for a in agents)
                continue
            # Every free agent has been tried this round; start again after a pause.
            tried.clear()
            now = call.channel.now()
            pause = RETRY_SECONDS
            if self.opts["max_wait"] is not None:
                pause = min(pause, (deadline - now).total_seconds())
            if announcing:
                pause = min(pause, (next_announce - now).total_seconds())
            key = call.channel.wait(max(pause, 0.0), music=music, keys=keys)
            if key:
                call.note_input("queue_key", key, sensitive=False)
                return key

    def _announcement(self, call, queue, pool, entry) -> list[Utterance]:
        lang = call.language
        position = pool.position(entry)
        texts = []
        if self.opts["announce"]["position"]:
            texts.append(_text(_POSITION, lang).format(n=position))
        if self.opts["announce"]["wait_time"]:
            staffed = max(len(pool.staffed(queue)), 1)
            seconds = position * ASSUMED_HANDLE_SECONDS / staffed
            under, one, many = _text(_WAIT, lang)
            minutes = math.ceil(seconds / 60)
            texts.append(under if seconds < 60 else one if minutes == 1 else many.format(m=minutes))
        return [Utterance(text, lang, call.voice) for text in texts]

    def _offer(self, call, queue, pool, agents, music) -> bool:
        """Ring the agents; True when one answered and the conversation is over."""
        tenant = call.tenant
        caller = call.info.caller_name or call.info.caller or "unknown"
        whisper = []
        if tenant is not None:
            whisper = [
                Utterance(
                    _text(_WHISPER, call.language).format(name=tenant.name),
                    call.language,
                    call.voice,
                )
            ]
        variables = {
            "ivr_tenant": tenant.id if tenant else "",
            "ivr_tenant_name": tenant.name if tenant else "",
            "ivr_queue": queue.name,
            "ivr_path": ",".join(call.record.path),
            "ivr_inputs": ";".join(f"{n}={v}" for _, n, v in call.record.inputs),
        }
        by_endpoint = {a.config.endpoint: a for a in agents}
        ring_start = call.channel.now()
        try:
            result = call.channel.bridge(
                list(by_endpoint),
                timeout=queue.ring_timeout,
                ringback=music,
                whisper=whisper,
                caller_id_name=f"{tenant.name}: {caller}" if tenant else caller,
                variables=variables,
            )
        except BaseException:
            # The caller hung up (or the line broke) while the agents' phones rang.
            for agent in agents:
                pool.release(agent, call.channel.now())
            raise
        if result.status != "answered":
            call.log.info("agents %s: %s", ",".join(a.config.id for a in agents), result.status)
            for agent in agents:
                pool.release(agent, call.channel.now(), missed=result.status == "no_answer")
            return False
        agent = by_endpoint.get(result.answered_by, agents[0])
        for other in agents:
            if other is not agent:
                pool.release(other, call.channel.now())
        record = call.record
        record.agent = agent.config.id
        record.agent_answered_at = ring_start + dt.timedelta(seconds=result.ring_seconds)
        record.talk_seconds = result.talk_seconds
        call.log.info(
            "agent %s answered after %.0fs; talked %.0fs",
            agent.config.id,
            result.ring_seconds,
            result.talk_seconds,
        )
        pool.finish(agent, call.channel.now(), queue.wrap_up)
        return True


NODE = Queue
