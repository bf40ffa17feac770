"""``queue``: wait for an operator with hold music and announcements, then talk to an agent.

The caller waits in the agent pool's line (``ivr.acd``) and hears hold music from the moment
they enter, kept as ringback while an agent's phone rings. Agents are offered by the pool as soon
as one is free (the wait is cut short); meanwhile the caller hears their position and expected
wait every ``every:``, periodic messages, and may press keys: one to be called back (confirming
or entering the number; the place in line is kept), others leading to named nodes (voicemail,
the menu). ``max_wait`` ends the wait (``on_timeout``), ``overflow`` moves the caller to another
queue after a while, ``when_empty`` sends callers on when no agent is logged in.

With ``survey`` the caller is offered a post-call survey on entering the queue and opts in with
a key, then or at any time while waiting. FreeSWITCH keeps the caller's line after a bridge the
agent ended (``hangup_after_bridge`` is false), so when the agent hangs up first a caller who
opted in stays in the flow and goes to the survey; a caller who hangs up ends the call as ever.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import uuid

from ivr.acd import Callback
from ivr.acd.callbacks import agent_texts
from ivr.flow.config import DEFAULT_HOLD_MUSIC
from ivr.flow.diagram import DiagramLink
from ivr.flow.fields import (
    Duration,
    Edge,
    EdgeMap,
    Flag,
    ListOf,
    Number,
    Obj,
    PromptField,
    Template,
    Text,
    format_duration,
)
from ivr.flow.prompts import base_language
from ivr.nodes.base import Node, NodeError
from ivr.prompts.pieces import phrase_parts, spoken_phrase, vocabulary
from ivr.prompts.sayas import SAY_LANGUAGES, say_as
from ivr.prompts.speech import FixedSpeech, in_language
from ivr.runtime.channel import Utterance

LONGEST_PAUSE = 600.0
"""The longest single stretch of hold music; nothing needs a caller to wake before an event."""
CALLBACK_KEY_SECONDS = 6.0
"""How long a caller has to answer a callback question."""
CALLBACK_TRIES = 3
"""Questions asked about the callback number before the caller simply keeps waiting."""
_DIALABLE = re.compile(r"\+?\d{3,15}")

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
        "Ожидаемое время ожидания в минутах: {m}.",
    ),
    "bg": (
        "Очакваното време за изчакване е под минута.",
        "Очакваното време за изчакване е около една минута.",
        "Очакваното време за изчакване е около {m} минути.",
    ),
}
_MINUTES_GENDER = {"bg": "feminine"}
"""The gender the number of minutes agrees with in the wait announcements (две минути)."""
_WHISPER = {"en": "Call for {name}.", "ru": "Звонок для {name}.", "bg": "Обаждане за {name}."}
# When the estimate is only a lower bound: (one minute, {m} minutes)
_WAIT_MORE = {
    "en": (
        "Your expected wait is more than one minute.",
        "Your expected wait is more than {m} minutes.",
    ),
    "ru": (
        "Ожидаемое время ожидания больше одной минуты.",
        "Ожидаемое время ожидания в минутах: {m} или больше.",
    ),
    "bg": (
        "Очакваното време за изчакване е повече от една минута.",
        "Очакваното време за изчакване е повече от {m} минути.",
    ),
}
_CALLBACK_OFFER = {
    "en": "To be called back without losing your place in line, press {key}.",
    "ru": "Чтобы мы перезвонили вам, сохранив ваше место в очереди, нажмите {key}.",
    "bg": "За да ви се обадим, без да губите мястото си на опашката, натиснете {key}.",
}
_CALLBACK_CONFIRM = {
    "en": "We will call you back at {number}. To confirm, press 1. For another number, press 2.",
    "ru": "Мы перезвоним вам по номеру {number}. Для подтверждения нажмите 1. "
    "Чтобы указать другой номер, нажмите 2.",
    "bg": "Ще ви се обадим на {number}. За потвърждение натиснете 1. За друг номер натиснете 2.",
}
_CALLBACK_ENTER = {
    "en": "Please enter the phone number to call you back at, then press hash.",
    "ru": "Введите номер телефона для обратного звонка и нажмите решётку.",
    "bg": "Въведете телефонния номер, на който да ви се обадим, и натиснете диез.",
}
_CALLBACK_DONE = {
    "en": "Thank you. You keep your place in line, and we will call you back as soon as an "
    "operator is free. Goodbye.",
    "ru": "Спасибо. Ваше место в очереди сохранено, мы перезвоним, как только освободится "
    "оператор. До свидания.",
    "bg": "Благодарим ви. Запазвате мястото си на опашката и ще ви се обадим веднага щом "
    "се освободи оператор. Довиждане.",
}
_SURVEY_ACCEPTED = {
    "en": "Thank you. Please stay on the line after your call for a short survey.",
    "ru": "Спасибо. Пожалуйста, оставайтесь на линии после разговора для короткого опроса.",
    "bg": "Благодарим ви. Моля, останете на линията след разговора за кратка анкета.",
}
_SURVEY_INTRO = {
    "en": "Thank you for staying on the line for our short survey.",
    "ru": "Спасибо, что остались на линии для короткого опроса.",
    "bg": "Благодарим ви, че останахте на линията за кратката анкета.",
}
_CALLBACK_KEPT = {
    "en": "You keep your place in line. Please hold.",
    "ru": "Ваше место в очереди сохранено. Пожалуйста, оставайтесь на линии.",
    "bg": "Запазвате мястото си на опашката. Моля, изчакайте.",
}


class Queue(Node):
    """Puts the caller in an operator queue until an agent answers.

    The wait also ends when ``max_wait`` passes, the caller presses one of ``keys``, or the
    caller chooses a callback. Hold music plays throughout, also while an agent's phone rings,
    so the caller never hears silence.
    """

    type_name = "queue"
    summary = "Wait in an operator queue and talk to an agent"
    ends_call = True
    options = {
        "queue": Text("A queue from queues.yaml", required=True),
        "priority": Template(
            "Higher is served first, e.g. '{{ 10 if acct and acct.vip else 0 }}'", default="0"
        ),
        "skills": Template(
            "Skills agents need for this caller besides the queue's, e.g. '{{ language }}' "
            "(several separated by commas)"
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
        "messages": Obj(
            "Messages played in turn while the caller waits",
            fields={
                "every": Duration("Play the next one this often", default=60.0),
                "prompts": ListOf(PromptField(), "The messages", required=True),
            },
        ),
        "hold_music": Text("Music while waiting (default: the queue's, else the tenant's)"),
        "max_wait": Duration("Longest wait before on_timeout"),
        "on_timeout": Edge("Where callers go after max_wait", label="timeout"),
        "overflow": Obj(
            "Move callers who waited long to another queue, keeping their place by arrival",
            fields={
                "after": Duration("Time in this queue before moving", required=True),
                "queue": Text("The queue from queues.yaml to move to", required=True),
            },
        ),
        "when_empty": Edge(
            "Where callers go when no agent of the queue is logged in", label="empty"
        ),
        "keys": EdgeMap(
            "Keys callers may press while waiting and where each leads (voicemail, a menu)",
            key_pattern=r"[0-9*#]",
            key_doc="one key (0-9, * or #)",
        ),
        "callback": Obj(
            "Offer to call the caller back when an agent is free, keeping the place in line",
            fields={
                "key": Text("The key that asks for a callback (0-9, * or #)", required=True),
                "offer_after": Duration("Wait before the callback is offered", default=60.0),
                "attempts": Number(
                    "Times the caller's phone is rung before giving up", minimum=1, default=3
                ),
                "retry_after": Duration("Time between attempts", default=600.0),
            },
        ),
        "survey": Obj(
            "Offer a survey after the call: callers who opt in go to it when the agent hangs up",
            fields={
                "offer": PromptField(
                    "Played once on entering the queue, e.g. 'To take a short survey after "
                    "your call, press 1'",
                    required=True,
                ),
                "key": Text(
                    "The key that opts in (0-9, * or #), during the offer or later while waiting",
                    default="1",
                ),
                "accepted": PromptField(
                    "Played when the caller opts in (default: a thank-you asking them to stay "
                    "on the line)"
                ),
                "intro": PromptField(
                    "Played when the agent has hung up, before the survey (default: a "
                    "thank-you for staying on the line)"
                ),
                "next": Edge(
                    "The survey node (or the first of several) callers who opted in go to",
                    label="survey",
                    required=True,
                ),
            },
        ),
    }

    example = """\
flow: example_queue
start: operator
nodes:
  operator:
    type: queue
    queue: retail                # from queues.yaml
    prompt: "All our operators are busy. Please hold."
    announce: {position: true, wait_time: true, every: 45s}
    max_wait: 10m
    on_timeout: voicemail
    overflow: {after: 5m, queue: supervisors}
    keys: {9: voicemail}         # the caller may leave a message instead
    callback: {key: 1, offer_after: 2m}
    survey:                      # after the agent hangs up, if the caller pressed 2
      offer: "To rate our service after your call, press 2."
      key: 2
      next: csat
  voicemail:
    type: record
    prompt: "Please leave a message after the beep."
  csat:
    type: survey
    question: satisfaction
    prompt: "How satisfied were you with our operator? Press 1 to 5, 5 is very satisfied."
    scale: 1-5
    next: thanks
  thanks:
    type: hangup
    prompt: "Thank you for your answer."
"""

    def diagram_lines(self) -> list[str]:
        return [f"queue {self.opts['queue']}", *super().diagram_lines()]

    def diagram_links(self) -> list[DiagramLink]:
        links = []
        overflow = self.opts["overflow"]
        if overflow is not None:
            after = format_duration(overflow["after"])
            links.append(DiagramLink(f"overflow after {after}", "queue", overflow["queue"]))
        callback = self.opts["callback"]
        if callback is not None:
            after = format_duration(callback["offer_after"])
            label = f"{callback['key']}: callback (offered after {after})"
            links.append(DiagramLink(label, "end", "called back"))
        return links

    def fixed_speech(self, language: str, tenant_name: str | None) -> FixedSpeech:
        """What the queue can say in ``language``: announcements, callback questions, whispers.

        Sentences without a number are rendered whole; those with one (position, minutes, the
        callback number) are played from pieces: their fixed parts and the numbers' words, as
        say-as values are (``spoken_phrase``). Also the agents' whispers (``tenant_name``: the
        tenant's name on its calls, None without a tenant). Sentences with a number in a
        language without word tables can only be rendered on calls.
        """
        announce = self.opts.get("announce") or {}
        callback = self.opts.get("callback")
        texts: list[str] = []
        numbered: list[tuple[str, str, str | None]] = []
        if announce.get("position"):
            numbered.append((in_language(_POSITION, language), "number", None))
        if announce.get("wait_time"):
            gender = _MINUTES_GENDER.get(base_language(language))
            under, one, many = in_language(_WAIT, language)
            more_one, more_many = in_language(_WAIT_MORE, language)
            texts += [under, one, more_one]
            numbered += [(many, "number", gender), (more_many, "number", gender)]
        if tenant_name is not None:
            texts.append(in_language(_WHISPER, language).format(name=tenant_name))
        if callback is not None:
            texts.append(in_language(_CALLBACK_OFFER, language).format(key=callback["key"]))
            told = (_CALLBACK_ENTER, _CALLBACK_DONE, _CALLBACK_KEPT)
            texts += [in_language(table, language) for table in told]
            texts += agent_texts(language, tenant_name)
            numbered.append((in_language(_CALLBACK_CONFIRM, language), "digits", None))
        survey = self.opts.get("survey")
        if survey is not None:
            texts += [
                in_language(table, language)
                for name, table in (("accepted", _SURVEY_ACCEPTED), ("intro", _SURVEY_INTRO))
                if survey[name] is None
            ]
        if base_language(language) not in SAY_LANGUAGES:
            return FixedSpeech(texts=texts, at_call_time=[template for template, _, _ in numbered])
        pieces: set[str] = set()
        for template, kind, gender in numbered:
            pieces.update(phrase_parts(template))
            pieces.update(vocabulary(kind, language, gender=gender))
        return FixedSpeech(texts=texts, pieces=pieces)

    def needs(self) -> set[str]:
        return {"callback_dialer"} if self.opts["callback"] is not None else set()

    def check(self, project) -> dict:
        queues = project.project.queues
        name = self.opts["queue"]
        if name not in queues:
            project.unknown("queue", name, list(queues), self.marks["queue"], "queues.yaml")
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
        overflow = self.opts["overflow"]
        if overflow is not None:
            if overflow["queue"] not in queues:
                project.unknown(
                    "queue", overflow["queue"], list(queues), self.marks["overflow"], "queues.yaml"
                )
            elif overflow["queue"] == name:
                project.error("overflow must name another queue", self.marks["overflow"])
        callback = self.opts["callback"]
        if callback is not None and not re.fullmatch(r"[0-9*#]", callback["key"]):
            project.error(
                f"callback key '{callback['key']}' is not one key (0-9, * or #)",
                self.marks["callback"],
            )
        elif callback is not None and callback["key"] in (self.opts["keys"] or {}):
            project.error(
                f"key {callback['key']} is both the callback key and in keys:",
                self.marks["callback"],
            )
        survey = self.opts["survey"]
        if survey is not None:
            taken = {
                **{key: "in keys:" for key in self.opts["keys"] or {}},
                **({callback["key"]: "the callback key"} if callback is not None else {}),
            }
            if not re.fullmatch(r"[0-9*#]", survey["key"]):
                project.error(
                    f"survey key '{survey['key']}' is not one key (0-9, * or #)",
                    self.marks["survey"],
                )
            elif survey["key"] in taken:
                project.error(
                    f"survey key {survey['key']} is also {taken[survey['key']]}: "
                    "give the survey its own key",
                    self.marks["survey"],
                )
        silent = {"position": False, "wait_time": False, "every": 60.0}
        return {**self.opts, "announce": self.opts["announce"] or silent}

    def run(self, call) -> str | None:
        queue = call.project.queues[self.opts["queue"]]
        pool = call.services.agents
        try:
            priority = int(call.render(self.opts["priority"]).strip() or 0)
        except ValueError as exc:
            raise NodeError(f"priority is not a whole number: {exc}") from exc
        skills = set()
        if self.opts["skills"] is not None:
            skills = {s.strip() for s in call.render(self.opts["skills"]).split(",") if s.strip()}
        if self.opts["when_empty"] is not None and not pool.staffed(queue, skills):
            call.log.info("queue %s has no agent logged in", queue.name)
            return "empty"
        music = (
            self.opts["hold_music"]
            or queue.hold_music
            or (call.tenant.hold_music if call.tenant else None)
            or DEFAULT_HOLD_MUSIC
        )
        now = call.now()
        entry = pool.enqueue(
            queue.name, call.info.call_id, priority, now, skills=skills, notify=call.wake
        )
        record = call.record
        record.queue, record.queued_at, record.in_queue_at_end = queue.name, now, True
        record.queue_let_go_at = None
        call.set_channel_var("ivr_queue", queue.name)
        call.log.info("enters queue %s with priority %d", queue.name, priority)
        try:
            # Told before the wait that the conversation with the agent will be recorded.
            call.recorder.consent_before_queue(queue.record)
            label = self._wait(call, pool, entry, music)
        except BaseException:
            # Hung up, or the line broke: the caller leaves the line at once (a callback stays).
            if entry.callback is None:
                pool.leave(entry, call.now())
            raise
        if entry.callback is None:
            pool.leave(entry, call.now())
        record.in_queue_at_end = False
        if label is None:
            call.hangup()
        elif label == "survey":
            # The agent hung up first. Speaking to the caller is also what finds out whether
            # they are still there: one who hung up too unwinds here, never reaching the survey.
            self._speak(call, self.opts["survey"]["intro"], _SURVEY_INTRO)
        else:
            record.queue_let_go_at = call.now()
        return label

    def _wait(self, call, pool, entry, music) -> str | None:
        """Wait for an agent; the label to follow, "survey" after a conversation, or None.

        None: the call is over (the conversation ended without a survey, or a callback).
        """
        # The wait counts from entering the queue, so a long entry prompt does not stretch it.
        start = entry.arrived
        call.say(self.opts["prompt"])
        keys = "".join(self.opts["keys"] or {})
        survey = self.opts["survey"]
        opted_in = False
        if survey is not None:
            # Offered before anything else, so a caller an agent takes at once can opt in too.
            call.note("survey", "offered")
            key = call.play(call.utterances(survey["offer"]), keys=keys + survey["key"])
            if key:
                call.note_input("queue_key", key, sensitive=False)
            if key == survey["key"]:
                self._opt_in(call, survey)
                opted_in = True
            elif key:
                return key
            else:
                keys += survey["key"]
        announce = self.opts["announce"]
        announcing = announce["position"] or announce["wait_time"]
        messages = self.opts["messages"]
        callback = self.opts["callback"]
        if callback is not None and not call.services.callbacks.can_dial:
            call.log.warning("callbacks are not offered: no callback dialer is configured")
            callback = None
        overflow = self.opts["overflow"]
        moments = {
            "timeout": self._after(start, self.opts["max_wait"]),
            "overflow": self._after(start, overflow["after"] if overflow else None),
            "announce": start if announcing else None,
            "message": self._after(start, messages["every"] if messages else None),
            "callback": self._after(start, callback["offer_after"] if callback else None),
        }
        told = 0
        while True:
            if entry.offer:
                if self._connect(call, pool, entry, music):
                    return "survey" if opted_in else None
                continue
            now = call.now()
            due = [name for name, moment in moments.items() if moment and moment <= now]
            if "timeout" in due:
                call.log.info("waited %s in queue %s: timeout", now - start, entry.queue)
                return "timeout"
            key = ""
            if "overflow" in due:
                moments["overflow"] = None
                self._overflow(call, pool, entry, overflow["queue"], now)
                continue
            if "announce" in due:
                if "callback" in due:
                    # Due now too: offered in this announcement, not the next one.
                    moments["callback"] = None
                offer = callback["key"] if callback and moments["callback"] is None else None
                key = call.play(
                    self._announcement(call, pool, entry, offer),
                    barge_in=False,
                    keys=self._listening(keys, callback, moments),
                )
                moments["announce"] = call.now() + dt.timedelta(seconds=announce["every"])
            elif "callback" in due:
                moments["callback"] = None
                if not announcing:
                    text = in_language(_CALLBACK_OFFER, call.language).format(key=callback["key"])
                    key = call.play(
                        [self._say(call, text)],
                        barge_in=False,
                        keys=self._listening(keys, callback, moments),
                    )
            elif "message" in due:
                prompts = messages["prompts"]
                call.say(prompts[told % len(prompts)])
                told += 1
                moments["message"] = call.now() + dt.timedelta(seconds=messages["every"])
            else:
                key = self._hold(call, pool, entry, music, moments, keys, callback)
            if not key:
                continue
            call.note_input("queue_key", key, sensitive=False)
            if survey is not None and key == survey["key"]:
                self._opt_in(call, survey)
                opted_in = True
                keys = keys.replace(key, "")
                continue
            if callback is not None and key == callback["key"]:
                if entry.offer:
                    continue  # an operator is free right now: better than a callback
                if self._take_callback(call, pool, entry, callback, music):
                    return None
                continue
            return key

    def _opt_in(self, call, survey: dict) -> None:
        """The caller pressed the survey's key: it is journaled and they hear it is taken."""
        call.note("survey", "accepted")
        call.log.info("opts in to the survey after the call")
        self._speak(call, survey["accepted"], _SURVEY_ACCEPTED)

    def _speak(self, call, prompt, default: dict[str, str]) -> None:
        """Play ``prompt``, or the built-in sentence ``default`` in the call's language."""
        if prompt is not None:
            call.say(prompt)
        else:
            self._tell(call, default)

    @staticmethod
    def _after(start: dt.datetime, seconds: float | None) -> dt.datetime | None:
        return None if seconds is None else start + dt.timedelta(seconds=seconds)

    @staticmethod
    def _listening(keys: str, callback: dict | None, moments: dict) -> str:
        """The keys a waiting caller may press now: ``keys:``, and the callback's once offered.

        The callback is offered once its moment has passed (then set to None).
        """
        if callback is not None and moments["callback"] is None:
            return keys + callback["key"]
        return keys

    def _hold(self, call, pool, entry, music, moments, keys, callback) -> str:
        """Hold music until the next moment something is due, an agent is offered, or a key."""
        now = call.now()
        upcoming = [m for m in moments.values() if m is not None]
        line = pool.lines[entry.queue]
        if next((e for e in line if not e.offer and not e.held), None) is entry:
            # The caller next in line wakes when an agent's wrap-up ends, so the agent is offered
            # on time even where nothing else keeps the pool's clock.
            upcoming += [m for m in [pool.next_due()] if m is not None]
        pause = min([(m - now).total_seconds() for m in upcoming] + [LONGEST_PAUSE])
        key = call.hold(max(pause, 0.0), music=music, keys=self._listening(keys, callback, moments))
        pool.advance(call.now())
        return key

    def _overflow(self, call, pool, entry, queue: str, now: dt.datetime) -> None:
        call.log.info("overflows from queue %s to %s", entry.queue, queue)
        pool.move(entry, queue, now)
        call.record.queue = queue
        call.set_channel_var("ivr_queue", queue)

    def _say(self, call, text: str) -> Utterance:
        return Utterance(text, call.language, call.voice)

    def _tell(self, call, table: dict[str, str]) -> None:
        call.play([self._say(call, in_language(table, call.language))], barge_in=False)

    def _announcement(self, call, pool, entry, callback_key: str | None) -> list[Utterance]:
        lang = call.language
        texts = []
        numbered = []
        gender = _MINUTES_GENDER.get(base_language(lang))
        if self.opts["announce"]["position"]:
            numbered.append((in_language(_POSITION, lang), pool.position(entry), None))
        if self.opts["announce"]["wait_time"]:
            estimate = pool.estimate(entry)
            if estimate.sure:
                under, one, many = in_language(_WAIT, lang)
                minutes = math.ceil(estimate.seconds / 60)
                if estimate.seconds < 60:
                    texts.append(under)
                elif minutes == 1:
                    texts.append(one)
                else:
                    numbered.append((many, minutes, gender))
            elif estimate.seconds >= 60:
                one, many = in_language(_WAIT_MORE, lang)
                minutes = math.floor(estimate.seconds / 60)
                if minutes == 1:
                    texts.append(one)
                else:
                    numbered.append((many, minutes, gender))
        said = [
            spoken_phrase(template, lang, call.voice, kind="number", value=str(n), gender=gender)
            for template, n, gender in numbered
        ]
        if callback_key is not None:
            texts.append(in_language(_CALLBACK_OFFER, lang).format(key=callback_key))
        return said + [self._say(call, text) for text in texts]

    def _variables(self, call, queue) -> dict[str, str]:
        """Call variables an agent's screen shows: the company, the queue, the path, inputs."""
        tenant = call.tenant
        return {
            "ivr_tenant": tenant.id if tenant else "",
            "ivr_tenant_name": tenant.name if tenant else "",
            "ivr_queue": queue,
            "ivr_path": ",".join(call.record.path),
            "ivr_inputs": ";".join(f"{n}={v}" for _, n, v in call.record.inputs),
        }

    def _connect(self, call, pool, entry, music) -> bool:
        """Ring the agents offered; True when one answered and the conversation is over."""
        agents = [pool.agents[a] for a in entry.offer]
        queue = pool.queues[entry.queue]
        tenant = call.tenant
        caller = call.info.caller_name or call.info.caller or "unknown"
        whisper = []
        if tenant is not None:
            text = in_language(_WHISPER, call.language).format(name=tenant.name)
            whisper = [self._say(call, text)]
        by_endpoint = {a.config.endpoint: a for a in agents}
        call.recorder.before_agent(queue.record)
        ring_start = call.now()
        connected = []
        record = call.record

        def on_answer(endpoint: str) -> None:
            agent = by_endpoint.get(endpoint, agents[0])
            connected.append(agent)
            record.agent, record.agent_answered_at = agent.id, call.now()
            pool.answered(entry, agent.id, record.agent_answered_at)

        try:
            result = call.bridge(
                list(by_endpoint),
                timeout=queue.ring_timeout,
                ringback=music,
                whisper=whisper,
                caller_id_name=f"{tenant.name}: {caller}" if tenant else caller,
                variables=self._variables(call, queue.name),
                on_answer=on_answer,
            )
        except BaseException:
            # The caller hung up or the line broke (FreeSWITCH went down mid-conversation): a
            # conversation that began is over and stays in the journal, talk time to the end;
            # agents still ringing are freed when the caller leaves the line.
            if connected:
                now = call.now()
                record.talk_seconds = max((now - record.agent_answered_at).total_seconds(), 0.0)
                pool.finish(
                    connected[0].id, now, talk_seconds=record.talk_seconds, queue=queue.name
                )
            raise
        now = call.now()
        if result.status != "answered":
            call.log.info("agents %s: %s", ",".join(a.id for a in agents), result.status)
            if connected:
                record.agent = record.agent_answered_at = None
                pool.finish(connected[0].id, now, queue=queue.name)
            pool.not_answered(entry, result.status, now)
            return False
        agent = by_endpoint.get(result.answered_by, agents[0])
        answered_at = ring_start + dt.timedelta(seconds=result.ring_seconds)
        if not connected:
            pool.answered(entry, agent.id, answered_at)
        record.agent = agent.id
        record.agent_answered_at = answered_at
        record.talk_seconds = result.talk_seconds
        call.log.info(
            "agent %s answered after %.0fs; talked %.0fs",
            agent.id,
            result.ring_seconds,
            result.talk_seconds,
        )
        pool.finish(agent.id, now, talk_seconds=result.talk_seconds, queue=queue.name)
        return True

    def _take_callback(self, call, pool, entry, options, music) -> bool:
        """The caller asked to be called back. True when it is scheduled and the call is over."""
        pool.hold(entry)
        number = self._callback_number(call)
        now = call.now()
        if number is None:
            pool.resume(entry, now)
            self._tell(call, _CALLBACK_KEPT)
            return False
        queue = pool.queues[entry.queue]
        tenant = call.tenant
        callback = Callback(
            id=uuid.uuid4().hex,
            number=number,
            endpoint=queue.callback_endpoint.format(number=number),
            tenant=tenant.id if tenant else "",
            tenant_name=tenant.name if tenant else "",
            tenant_number=tenant.numbers[0] if tenant and tenant.numbers else "",
            language=call.language,
            voice=call.voice,
            hold_music=music,
            attempts_left=options["attempts"],
            retry_after=options["retry_after"],
            variables=self._variables(call, queue.name),
        )
        call.services.callbacks.schedule(entry, callback, now)
        call.record.callback = number
        call.record.in_queue_at_end = False
        call.log.info(
            "callback %s to %s at position %d of queue %s",
            callback.id,
            number,
            pool.position(entry),
            entry.queue,
        )
        self._tell(call, _CALLBACK_DONE)
        call.hangup()
        return True

    def _callback_number(self, call) -> str | None:
        """The number to call back: the caller's own once confirmed, or one they enter."""
        lang = call.language
        number = call.info.caller if _DIALABLE.fullmatch(call.info.caller or "") else ""
        for _ in range(CALLBACK_TRIES):
            if not number:
                entered = call.ask(
                    [self._say(call, in_language(_CALLBACK_ENTER, lang))],
                    max_digits=15,
                    timeout=CALLBACK_KEY_SECONDS * 2,
                    digit_timeout=CALLBACK_KEY_SECONDS,
                    terminators="#",
                )
                if _DIALABLE.fullmatch(entered.digits):
                    number = entered.digits
                    call.note_input("callback_number", number, sensitive=False)
                continue
            confirm = spoken_phrase(
                in_language(_CALLBACK_CONFIRM, lang),
                lang,
                call.voice,
                kind="digits",
                value=number,
                shown=say_as("digits", number, lang),
            )
            choice = call.ask(
                [confirm],
                max_digits=1,
                timeout=CALLBACK_KEY_SECONDS,
                digit_timeout=CALLBACK_KEY_SECONDS,
                terminators="",
            )
            if choice.digits == "1":
                return number
            if choice.digits == "2":
                number = ""
        return None


NODE = Queue
