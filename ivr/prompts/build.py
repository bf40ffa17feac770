"""``ivr prompts build``: pre-render every static prompt of every flow, in every language and voice.

For each flow the build finds who can speak on its calls (the flow's languages, the languages
and voices its nodes switch to, the tenants that use it) and renders, for each of them: every
prompt text without template variables, the fallback text of recordings that are missing, the
word pieces its say-as values are joined from, the values written out in the flow, the apology a
failing call ends with, the fillers of its data sources, and what its nodes say on their own
(each node type's ``fixed_speech``: a queue's position and wait announcements, joined from pieces
like say-as values, its callback questions and agents' whispers). It reports recordings that
are missing (and so fall back to TTS, or to nothing), recordings that play at another level
than the prompts, voices that are not installed, and the prompts that can only be rendered at
call time (templates with variables; they are cached once said).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from ivr.flow.compiler import CompiledFlow, Project
from ivr.flow.prompts import Prompt, SayPart, SoundPart, TextPart
from ivr.flow.source import Mark
from ivr.flow.templates import is_template
from ivr.prompts import audio
from ivr.prompts.files import PromptFiles
from ivr.prompts.pieces import SpokenValue, spoken_value, vocabulary
from ivr.prompts.sayas import SayAsError
from ivr.prompts.speech import APOLOGY, FILLER, in_language
from ivr.prompts.tts import PromptError, TtsUnavailable
from ivr.prompts.voices import voice_for

LEVEL_TOLERANCE_DB = 3.0
"""A recording this much louder or quieter than the prompts is reported."""


@dataclass(frozen=True)
class CallVoice:
    """Who speaks on some calls of a flow: a language, its voice, and the tenant (recordings)."""

    language: str
    voice: str | None
    tenant: str | None

    def describe(self) -> str:
        return f"{self.language} ({self.voice})" if self.voice else self.language


@dataclass(frozen=True)
class Job:
    """One file to have in the cache: a prompt text, a value's word piece, or a whole value."""

    kind: str
    text: str
    language: str
    voice: str | None
    value: SpokenValue | None = None


@dataclass(frozen=True)
class MissingRecording:
    """A recording a flow names that is not in ``sounds/`` for a language."""

    name: str
    language: str
    expected: Path
    mark: Mark | None
    spoken_by_tts: bool


@dataclass
class BuildReport:
    """What the build found and did."""

    speakers: dict[str, list[CallVoice]] = field(default_factory=dict)
    jobs: list[Job] = field(default_factory=list)
    missing: dict[tuple[str, str], MissingRecording] = field(default_factory=dict)
    at_call_time: dict[tuple[str, str], Mark | None] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    off_level: list[tuple[Path, float]] = field(default_factory=list)
    recordings: set[Path] = field(default_factory=set)
    rendered: int = 0
    cached: int = 0


def flow_prompts(flow: CompiledFlow) -> Iterator[tuple[Prompt, Mark | None]]:
    """Every prompt of a flow's nodes, with where it is written."""

    def walk(value: Any, mark: Mark | None) -> Iterator[tuple[Prompt, Mark | None]]:
        if isinstance(value, Prompt):
            yield value, mark
        elif isinstance(value, dict):
            for item in value.values():
                yield from walk(item, mark)
        elif isinstance(value, list | tuple):
            for item in value:
                yield from walk(item, mark)

    for node in flow.nodes.values():
        for key, value in node.opts.items():
            yield from walk(value, node.marks.get(key, node.mark))


def consent_prompts(
    flow: CompiledFlow, project: Project, speaker: CallVoice
) -> Iterator[tuple[Prompt, Mark | None]]:
    """The recording consent prompts a call of ``flow`` may hear.

    Its tenant's or its own, and those of every queue (any may be reached, through subflows).
    """
    tenant = project.tenants.get(speaker.tenant) if speaker.tenant else None
    policies = [tenant.record if tenant else None, flow.record]
    policies += [queue.record for queue in project.queues.values()]
    for policy in policies:
        if policy is not None and policy.consent is not None:
            yield policy.consent, flow.mark


def flow_speakers(flow: CompiledFlow, project: Project) -> list[CallVoice]:
    """Every language, voice and tenant that can speak on a call of ``flow``."""
    tenants = [None] + [t for t in project.tenants.values() if t.flow == flow.id]
    switches = [switch for node in flow.nodes.values() for switch in node.language_switches()]
    found: dict[CallVoice, None] = {}
    for tenant in tenants:
        tenant_id = tenant.id if tenant else None
        start = (tenant.language if tenant and tenant.language else None) or flow.language
        for language in [start, *flow.languages]:
            found[CallVoice(language, voice_for(language, flow, tenant), tenant_id)] = None
        for language, voice in switches:
            chosen = voice or voice_for(language, flow, tenant)
            found[CallVoice(language, chosen, tenant_id)] = None
    return list(found)


def _plan_prompt(
    report: BuildReport,
    files: PromptFiles,
    flow: CompiledFlow,
    project: Project,
    speaker: CallVoice,
    prompt: Prompt,
    mark: Mark | None,
) -> None:
    tenant = project.tenants.get(speaker.tenant) if speaker.tenant else None
    language, voice = speaker.language, speaker.voice
    for part in prompt.for_language(language):
        if isinstance(part, TextPart):
            fixed = part.language or language
            chosen = voice if fixed == language else voice_for(fixed, flow, tenant)
            _plan_text(report, part.template, fixed, chosen, part.mark or mark)
        elif isinstance(part, SoundPart):
            found = files.recording(part.name, language)
            if found is not None:
                report.recordings.add(found)
                continue
            where = part.mark or mark
            # Keyed without the tenant: calls without one are planned first, so the shared
            # sounds/ path is the one reported.
            report.missing.setdefault(
                (part.name, language),
                MissingRecording(
                    part.name,
                    language,
                    files.recording_paths(part.name, language)[0],
                    where,
                    bool(part.text),
                ),
            )
            if part.text:
                _plan_text(report, part.text, language, voice, where)
        else:
            _plan_value(report, part, language, voice, mark)


def _plan_text(
    report: BuildReport,
    text: str,
    language: str,
    voice: str | None,
    mark: Mark | None,
) -> None:
    if is_template(text):
        report.at_call_time.setdefault((text, language), mark)
    else:
        report.jobs.append(Job("prompt", text, language, voice))


def _plan_value(
    report: BuildReport, part: SayPart, language: str, voice: str | None, mark: Mark | None
) -> None:
    try:
        words = vocabulary(part.kind, language, currency=part.currency, gender=part.gender)
    except SayAsError as exc:
        report.errors.append(f"{part.mark or mark}: {exc}")
        return
    report.jobs += [Job("piece", word, language, voice) for word in sorted(words)]
    if is_template(part.value):
        if not words:
            report.at_call_time.setdefault((f"<{part.kind} {part.value}>", language), mark)
        return
    try:
        value = spoken_value(
            part.kind, part.value, language, voice, currency=part.currency, gender=part.gender
        )
    except SayAsError as exc:
        report.errors.append(f"{part.mark or mark}: {exc}")
        return
    if isinstance(value, SpokenValue):
        report.jobs.append(Job("value", value.text, language, voice, value=value))
    else:
        report.jobs.append(Job("prompt", value.text, language, voice))


def _plan_built_in(
    report: BuildReport,
    files: PromptFiles,
    flow: CompiledFlow,
    project: Project,
    speaker: CallVoice,
) -> None:
    """What the framework and the nodes say on the flow's calls besides the nodes' prompts.

    The fillers of data sources, and what each node says on its own (``fixed_speech``).
    """
    language, voice = speaker.language, speaker.voice
    for source in flow.data.values():
        if source.timing.filler is None:
            report.jobs.append(Job("prompt", in_language(FILLER, language), language, voice))
        else:
            _plan_prompt(report, files, flow, project, speaker, source.timing.filler, flow.mark)
    tenant = project.tenants.get(speaker.tenant) if speaker.tenant else None
    for node in flow.nodes.values():
        speech = node.fixed_speech(language, tenant.name if tenant else None)
        for prompt in speech.prompts:
            _plan_prompt(report, files, flow, project, speaker, prompt, node.mark)
        report.jobs += [Job("prompt", text, language, voice) for text in speech.texts]
        report.jobs += [Job("piece", word, language, voice) for word in sorted(speech.pieces)]
        for text in speech.at_call_time:
            report.at_call_time.setdefault((text, language), node.mark)


def plan(project: Project, files: PromptFiles) -> BuildReport:
    """Everything the flows of ``project`` need pre-rendered, and what is missing.

    Voices are checked first: jobs for a voice that is not installed are reported, not planned.

    Raises:
        TtsUnavailable: the TTS engine cannot start.
    """
    report = BuildReport()
    for flow in project.flows.values():
        speakers = []
        for speaker in flow_speakers(flow, project):
            try:
                files.speaker.voice_id(speaker.language, speaker.voice)
            except PromptError as exc:
                report.errors.append(f"{flow.file}: {exc}")
                continue
            speakers.append(speaker)
        report.speakers[flow.id] = speakers
        for speaker in speakers:
            view = files.for_tenant(speaker.tenant) if speaker.tenant else files
            for prompt, mark in [*flow_prompts(flow), *consent_prompts(flow, project, speaker)]:
                _plan_prompt(report, view, flow, project, speaker, prompt, mark)
            apology = in_language(APOLOGY, speaker.language)
            report.jobs.append(Job("prompt", apology, speaker.language, speaker.voice))
            _plan_built_in(report, view, flow, project, speaker)
    unique: dict[tuple[str, str, str, str], Job] = {}
    for job in report.jobs:
        unique.setdefault(_target(files, job), job)
    report.jobs = list(unique.values())
    return report


def _target(files: PromptFiles, job: Job) -> tuple[str, str, str, str]:
    """What a job renders: two jobs with the same target make one file."""
    return (job.kind, job.text, job.language, files.voice_id(job.language, job.voice))


def _make(files: PromptFiles, job: Job) -> Path:
    if job.kind == "piece":
        return files.piece(job.text, job.language, job.voice)
    if job.value is not None:
        return files.value(job.value)
    return files.render(job.text, job.language, job.voice)


def build(project: Project, files: PromptFiles, *, progress: bool | None = None) -> BuildReport:
    """Render everything ``plan`` finds, with a progress bar on stderr.

    Args:
        project: the compiled flows.
        files: the prompt cache to fill.
        progress: show the bar (None: only when stderr is a terminal).

    Raises:
        TtsUnavailable: the TTS engine cannot start.
    """
    report = plan(project, files)
    hidden = not sys.stderr.isatty() if progress is None else not progress
    for job in tqdm(report.jobs, desc="rendering", unit="file", file=sys.stderr, disable=hidden):
        before = files.stats.made
        try:
            _make(files, job)
        except PromptError as exc:
            report.errors.append(f"{job.language}: {job.text[:60]!r}: {exc}")
            continue
        if files.stats.made > before:
            report.rendered += 1
        else:
            report.cached += 1
    for path in sorted(report.recordings):
        try:
            samples, rate = audio.read_wav(path)
        except audio.AudioError as exc:
            report.errors.append(str(exc))
            continue
        level = audio.active_level(samples, rate)
        if level is not None and abs(level - files.level) > LEVEL_TOLERANCE_DB:
            report.off_level.append((path, level))
    return report


def _size(folder: Path) -> str:
    total = sum(p.stat().st_size for p in folder.rglob("*.wav")) if folder.exists() else 0
    return f"{total / 1_000_000:.1f} MB"


def print_report(report: BuildReport, files: PromptFiles, out: Callable[[str], None]) -> None:
    """Print what the build did, what is missing and what can only be rendered on calls."""
    for flow_id, speakers in report.speakers.items():
        groups: dict[str | None, list[str]] = {}
        for speaker in speakers:
            groups.setdefault(speaker.tenant, []).append(speaker.describe())
        described = [
            (f"tenant {tenant}: " if tenant else "") + ", ".join(voices)
            for tenant, voices in groups.items()
        ]
        out(f"  {flow_id}: {'; '.join(described) or 'no voice'}")
    kinds = {kind: sum(job.kind == kind for job in report.jobs) for kind in ("prompt", "piece")}
    out(
        f"{len(report.jobs)} file(s): {kinds['prompt']} prompt text(s), {kinds['piece']} say-as "
        f"piece(s), {len(report.jobs) - sum(kinds.values())} written-out value(s); "
        f"{report.rendered} rendered now, {report.cached} already cached "
        f"({_size(files.cache_dir)} in {files.cache_dir})"
    )
    missing = sorted(report.missing.values(), key=lambda m: (m.name, m.language))
    spoken = [m for m in missing if m.spoken_by_tts]
    silent = [m for m in missing if not m.spoken_by_tts]
    for title, items in (
        ("Recordings missing, spoken by TTS from their text instead", spoken),
        ("Recordings missing with no text: callers hear nothing there", silent),
    ):
        if items:
            out(f"{title} ({len(items)}):")
            for item in items:
                out(f"  {item.mark}: '{item.name}' ({item.language}): {item.expected}")
    if report.off_level:
        out(
            f"Recordings more than {LEVEL_TOLERANCE_DB:g} dB from the prompts' level "
            f"({files.level:g} dBFS):"
        )
        for path, level in report.off_level:
            out(f"  {path}: {level:.1f} dBFS")
    if report.at_call_time:
        out(f"Rendered on calls, then cached (they use variables) ({len(report.at_call_time)}):")
        for (text, language), mark in sorted(report.at_call_time.items(), key=lambda i: str(i[1])):
            out(f"  {mark}: {text!r} ({language})")
    for error in report.errors:
        out(f"error: {error}")


def run_build(project: Project, files: PromptFiles, out: Callable[[str], None]) -> int:
    """``ivr prompts build``: build, print the report, and return the exit code.

    Returns:
        0 when every prompt is in the cache, 1 when something could not be rendered (the TTS
        engine, a voice, a value); missing recordings are reported but do not fail.
    """
    started = time.perf_counter()
    try:
        version = files.speaker.start()
        out(
            f"Pre-rendering the prompts of {len(project.flows)} flow(s) in {project.folder} "
            f"({files.rate} Hz, {files.level:g} dBFS, {version}):"
        )
        report = build(project, files)
    except TtsUnavailable as exc:
        out(f"error: {exc}")
        return 1
    print_report(report, files, out)
    out(f"Done in {time.perf_counter() - started:.1f} s.")
    return 1 if report.errors else 0
