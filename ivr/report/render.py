"""A report as a terminal table, as CSV, as JSON for programs, or as one HTML page with charts.

Tables are laid out by ``tabulate``; charts are drawn by ``pygal`` as SVG and put inline in the
page, with no script or style fetched from anywhere, so the file opens in a browser offline and
can be mailed on.
"""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import json
import re
import urllib.parse
from pathlib import Path

import pygal
from pygal.style import CleanStyle
from tabulate import tabulate

from ivr.report.figures import Report
from ivr.report.kpis import Kpi, kpis
from ivr.report.tables import (
    COUNT,
    PERCENT,
    SCORE,
    SECONDS,
    TEXT,
    Table,
    report_tables,
    wait_label,
)
from ivr.runtime.record import OUTCOMES

HEADING_WIDTH = 9
"""Terminal column headings longer than this wrap onto a second line (between words)."""
_UNSAFE_IN_NAMES = re.compile(r"[^\w.-]")
"""Characters a table's key (a flow's name in a funnel's) may not bring into a file name."""
HEADING_FILE = "report.csv"
"""The file of a CSV folder that holds the report's heading (journal, period, rules)."""
MISSING = "-"
"""What a cell shows when its figure does not apply (no calls to take a share of)."""


def format_seconds(seconds: float) -> str:
    """A duration as a supervisor reads it: ``12.5s``, ``2m 05s``, ``1h 02m``."""
    if seconds < 60:
        return f"{seconds:.1f}s"
    whole = round(seconds)
    if whole < 3600:
        return f"{whole // 60}m {whole % 60:02d}s"
    return f"{whole // 3600}h {whole % 3600 // 60:02d}m"


def _cell(value, kind: str) -> str:
    if value is None:
        return MISSING
    if kind == PERCENT:
        return f"{value * 100:.1f}%"
    if kind == SECONDS:
        return format_seconds(value)
    if kind == SCORE:
        return f"{value:.2f}"
    return str(value)


def _align(table: Table) -> tuple[str, ...]:
    numbers = (COUNT, PERCENT, SECONDS, SCORE)
    return tuple("right" if c.kind in numbers else "left" for c in table.columns)


def _formatted(table: Table) -> list[list[str]]:
    return [
        [_cell(v, c.kind) for v, c in zip(row, table.columns, strict=True)] for row in table.rows
    ]


def _local_zone() -> str:
    return dt.datetime.now().astimezone().tzname() or "unknown"


def heading(report: Report, journal: str) -> list[str]:
    """The lines above the tables: the journal, the period, the filters, the time zone."""
    zone = report.timezone.key if report.timezone else f"local time, {_local_zone()}"

    def when(moment: dt.datetime | None) -> str:
        return report.local(moment).strftime("%Y-%m-%d %H:%M") if moment else "-"

    lines = [
        f"Call report from {journal}",
        f"Period: {when(report.start)} to {when(report.end)} ({zone})",
    ]
    lines.append(short_abandon_rule(report.short_abandon))
    if report.interval is not None:
        lines.append(f"Intervals: {report.interval}, by when calls started ({zone})")
    if report.tenant:
        name = report.tenant_names.get(report.tenant)
        lines.append(f"Tenant: {report.tenant}" + (f" ({name})" if name else ""))
    if report.queue:
        lines.append(f"Queue: {report.queue} (calls that waited in it)")
    return lines


def short_abandon_rule(seconds: float) -> str:
    """The heading's line saying how short abandons are counted."""
    if not seconds:
        return "Short abandons: none (--short-abandon 0): every hang-up in a queue is an abandon"
    return (
        f"Short abandons: hung up in a queue in under {seconds:g}s, out of the abandon rate and "
        "service level"
    )


def key_figures_text(figures: list[Kpi], previous: Report | None = None) -> str:
    """The key figures as the terminal report's first lines: each value under its label.

    With the ``previous`` period's report, a line under the values gives each figure then.
    """
    values = [_cell(k.value, k.kind) for k in figures]
    rows = [[k.label for k in figures], values]
    if previous is not None:
        rows.append([_cell(k.previous, k.kind) for k in figures])
    widths = [max(len(row[n]) for row in rows) for n in range(len(figures))]
    lines = ["Key figures"]
    for row in rows:
        lines.append("  ".join(cell.rjust(w) for cell, w in zip(row, widths, strict=True)))
    if previous is not None:
        lines.append(f"(last line: {previous_period(previous)})")
    return "\n".join(lines)


def previous_period(previous: Report) -> str:
    """Which period the comparison figures are of, in the report's time zone."""
    start, end = (
        previous.local(t).strftime("%Y-%m-%d %H:%M") for t in (previous.start, previous.end)
    )
    return f"the period of equal length just before, {start} to {end}"


def to_text(report: Report, journal: str) -> str:
    """The report as plain-text tables for a terminal, the key figures first."""
    figures = kpis(report.totals, report.previous.totals if report.previous else None)
    parts = ["\n".join(heading(report, journal)), key_figures_text(figures, report.previous)]
    for table in report_tables(report):
        lines = [table.title, "=" * len(table.title)]
        if table.note:
            lines.append(f"({table.note})")
        if table.rows:
            lines.append(
                tabulate(
                    _formatted(table),
                    headers=[c.name for c in table.columns],
                    tablefmt="simple",
                    colalign=_align(table),
                    disable_numparse=True,
                    # Two-line headings keep the wide tables within a 100-column terminal.
                    maxheadercolwidths=HEADING_WIDTH,
                    maxcolwidths=[c.wrap for c in table.columns],
                    break_long_words=False,
                    break_on_hyphens=False,
                )
            )
        else:
            lines.append("no calls")
        parts.append("\n".join(lines))
    return "\n\n".join(parts) + "\n"


def _csv_value(value, kind: str):
    if value is None:
        return ""
    if kind == PERCENT:
        return round(value * 100, 2)
    if kind == SECONDS:
        return round(value, 1)
    if kind == SCORE:
        return round(value, 2)
    return value


def _csv_heading(column) -> str:
    return {PERCENT: f"{column.name} (%)", SECONDS: f"{column.name} (s)"}.get(
        column.kind, column.name
    )


def _csv_rows(table: Table) -> list[list]:
    return [[_csv_heading(c) for c in table.columns]] + [
        [_csv_value(v, c.kind) for v, c in zip(row, table.columns, strict=True)]
        for row in table.rows
    ]


def csv_files(report: Report, journal: str) -> dict[str, str]:
    """The report as one CSV text per file name, so each table opens in a spreadsheet on its own.

    ``report.csv`` holds the heading lines (the journal, the period, the rules); each table is
    ``KEY.csv`` (``queues.csv``, ``funnel-FLOW.csv``) with its column headings on the first row.
    """
    files = {HEADING_FILE: _csv_text([[line] for line in heading(report, journal)])}
    for table in report_tables(report):
        files[f"{_UNSAFE_IN_NAMES.sub('_', table.key)}.csv"] = _csv_text(_csv_rows(table))
    return files


def _csv_text(rows: list[list]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


def to_csv(report: Report, journal: str) -> str:
    """The report as CSV: each table under a line with its name, tables apart by a blank line.

    Shares are percentages (0-100) and times are seconds, as plain numbers a spreadsheet sums.
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for line in heading(report, journal):
        writer.writerow([line])
    for table in report_tables(report):
        writer.writerow([])
        writer.writerow([table.key])
        writer.writerows(_csv_rows(table))
    return out.getvalue()


JSON_KINDS = {
    TEXT: "text",
    COUNT: "count",
    PERCENT: "fraction",
    SECONDS: "seconds",
    SCORE: "score",
}
"""What a column's kind is called in the JSON report: shares there are fractions (0..1)."""


def _iso(report: Report, moment: dt.datetime | None) -> str | None:
    return report.local(moment).isoformat() if moment else None


def to_json(report: Report, journal: str) -> str:
    """The report as one JSON document: the heading, the key figures and every table.

    Values are raw: counts, shares as fractions (0..1), times in seconds, null where a figure
    does not apply; times of day are ISO 8601 with the report's UTC offset.
    """
    document = {
        "journal": journal,
        "period": {"start": _iso(report, report.start), "end": _iso(report, report.end)},
        "timezone": report.timezone.key if report.timezone else _local_zone(),
        "timezone_is_local": report.timezone is None,
        "filters": {"tenant": report.tenant, "queue": report.queue},
        "short_abandon": {
            "seconds": report.short_abandon,
            "rule": short_abandon_rule(report.short_abandon),
        },
        "interval": report.interval,
        "kpis": [
            {
                "key": k.key,
                "label": k.label,
                "value": k.value,
                "previous": k.previous,
                "kind": JSON_KINDS[k.kind],
                "definition": k.definition,
            }
            for k in kpis(report.totals, report.previous.totals if report.previous else None)
        ],
        "previous_period": (
            {"start": _iso(report, report.previous.start), "end": _iso(report, report.previous.end)}
            if report.previous
            else None
        ),
        "tables": [
            {
                "key": table.key,
                "title": table.title,
                "note": table.note,
                "columns": [{"name": c.name, "kind": JSON_KINDS[c.kind]} for c in table.columns],
                "rows": table.rows,
            }
            for table in report_tables(report)
        ],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


# ----------------------------------------------------------------------------- HTML

OUTCOME_COLOURS = {
    "self_served": "#009E73",
    "completed": "#56B4E9",
    "answered": "#0072B2",
    "abandoned": "#D55E00",
    "ivr_hangup": "#E69F00",
    "transferred": "#999999",
    "voicemail": "#F0E442",
    "callback": "#CC79A7",
    "error": "#000000",
}
"""One colour per outcome in every chart: the Okabe-Ito palette, told apart by colour-blind
readers, with grey for the ninth outcome."""
SERIES_COLOURS = {
    **OUTCOME_COLOURS,
    "service level": OUTCOME_COLOURS["answered"],
    "other exits": "#DDDDDD",
    "entries": "#DDDDDD",
    "hang-ups": "#666666",
    "zero-outs": "#332288",
}
"""Colours of the series that are not outcomes: neutral greys and an indigo no outcome uses."""
_STYLE_OPTIONS = {"font_family": "system-ui, sans-serif", "value_font_size": 11}
_PAGE_CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; padding: 0 1em; max-width: 1100px;
  color: #222; line-height: 1.4; }
h1 { font-size: 1.5em; margin-bottom: 0.2em; } h2 { font-size: 1.2em; margin-top: 2em; }
p.heading { color: #444; margin: 0.1em 0; }
.kpis { display: grid; grid-template-columns: repeat(auto-fit, minmax(7.5em, 1fr)); gap: 0.6em;
  margin: 1.5em 0; }
.kpi { border: 1px solid #ccc; border-radius: 6px; padding: 0.6em 0.8em; cursor: help; }
.kpi-value { font-size: 1.55em; font-weight: 600; font-variant-numeric: tabular-nums;
  white-space: nowrap; }
.kpi-label { color: #444; font-size: 0.9em; }
.kpi-previous { color: #555; font-size: 0.8em; margin-top: 0.2em; }
table { border-collapse: collapse; margin: 0.5em 0 1em; font-variant-numeric: tabular-nums; }
th, td { padding: 0.2em 0.8em; border-bottom: 1px solid #ddd; }
th { background: #f4f4f4; }
tbody tr:nth-child(even) { background: #fafafa; }
figure { margin: 1em 0; } figure svg { width: 100%; height: auto; }
p.note { color: #666; margin: 0.2em 0; }
audio { height: 2em; vertical-align: middle; }
@media screen { td[style*="right"] { white-space: nowrap; } }
@page { size: A4; margin: 12mm; }
@media print {
  body { margin: 0; padding: 0; max-width: none; color: #000; font-size: 10pt; }
  p.heading, p.note, .kpi-label { color: #000; }
  .kpis { grid-template-columns: repeat(4, 1fr); }
  .kpi { border-color: #000; cursor: auto; }
  audio { display: none; }
  a { color: #000; text-decoration: none; }
  section, figure, .kpis { break-inside: avoid; }
  h2 { break-after: avoid; }
  tr { break-inside: avoid; }
  thead { display: table-header-group; }
  th { background: none; border-bottom: 1px solid #000; }
  tbody tr:nth-child(even) { background: none; }
  table { font-size: 9pt; }
  th, td { padding: 0.1em 0.35em; }
  figure svg { max-width: 100%; }
}
"""
"""The page's own style: a readable screen layout, and for print (A4) black text, no players,
charts within the page width and tables kept whole on a page where they fit."""


def _chart(kind, title: str, series: list[str], **options):
    """A pygal chart whose series, added in the order of ``series``, get their fixed colours."""
    colours = tuple(SERIES_COLOURS[name] for name in series)
    settings = {
        "title": title,
        "style": CleanStyle(colors=colours, **_STYLE_OPTIONS),
        "js": [],  # pygal's tooltips load a script from the network; the page must work offline
        "disable_xml_declaration": True,
        "width": 960,
        "height": 380,
        "print_values": True,
        "print_zeroes": False,
        "legend_at_bottom": True,
    }
    return kind(**{**settings, **options})


def _calls_per_hour(report: Report):
    hours = [report.by_hour.get(hour) for hour in range(24)]
    per_outcome = {o: [t.outcomes[o] if t else 0 for t in hours] for o in OUTCOMES}
    shown = [o for o in OUTCOMES if any(per_outcome[o])]
    chart = _chart(pygal.StackedBar, "Calls per hour of day", shown, x_title="hour")
    chart.x_labels = [f"{hour:02d}" for hour in range(24)]
    for outcome in shown:
        chart.add(outcome, per_outcome[outcome])
    return chart


def _outcomes(report: Report):
    shown = [o for o in OUTCOMES if report.totals.outcomes[o]]
    chart = _chart(pygal.Pie, "Outcomes", shown, inner_radius=0.4)
    for outcome in shown:
        chart.add(outcome, report.totals.outcomes[outcome])
    return chart


def _service_level(report: Report):
    chart = _chart(
        pygal.Bar,
        "Service level per queue (answered within target, % of calls offered)",
        ["service level"],
        range=(0, 100),
        value_formatter=lambda v: f"{v:.1f}%",
    )
    queues = sorted(report.by_queue)
    chart.x_labels = [
        f"{q} ({' / '.join(f'{s:g}s' for s in sorted(report.by_queue[q].targets))})" for q in queues
    ]
    chart.add("service level", [(report.by_queue[q].service_level or 0) * 100 for q in queues])
    return chart


def _waits(report: Report):
    chart = _chart(
        pygal.StackedBar,
        "Wait-time distribution (queued calls)",
        ["answered", "abandoned", "other exits"],
        x_title="wait",
    )
    chart.x_labels = [wait_label(b.low, b.high) for b in report.waits]
    chart.add("answered", [b.answered for b in report.waits])
    chart.add("abandoned", [b.abandoned for b in report.waits])
    chart.add("other exits", [b.other for b in report.waits])
    return chart


def _funnel(report: Report, flow: str):
    nodes = report.flow_nodes(flow)
    chart = _chart(
        pygal.HorizontalBar,
        f"Node funnel: {flow}",
        ["entries", "hang-ups", "zero-outs"],
        height=max(300, 60 + 36 * len(nodes)),
    )
    # pygal draws the first label at the bottom; the funnel reads from the top.
    ordered = list(reversed(nodes))
    chart.x_labels = [n.node for n in ordered]
    chart.add("entries", [n.entries for n in ordered])
    chart.add("hang-ups", [n.hangups for n in ordered])
    chart.add("zero-outs", [n.zero_outs for n in ordered])
    return chart


def charts(report: Report) -> list[tuple[str, object]]:
    """Every chart of the HTML report as (element id, pygal chart)."""
    found = [
        ("chart-calls-per-hour", _calls_per_hour(report)),
        ("chart-outcomes", _outcomes(report)),
        ("chart-service-level", _service_level(report)),
        ("chart-wait-times", _waits(report)),
    ]
    found += [(f"chart-funnel-{flow}", _funnel(report, flow)) for flow in sorted(report.funnels)]
    return found


def _html_table(table: Table) -> str:
    if not table.rows:
        return "<p>no calls</p>"
    return tabulate(
        _formatted(table),
        headers=[c.name for c in table.columns],
        tablefmt="html",
        colalign=_align(table),
        disable_numparse=True,
    )


def _key_figures_html(figures: list[Kpi], previous: Report | None = None) -> list[str]:
    """The big numbers at the top of the page, each with its definition as its tooltip.

    With the ``previous`` period's report each number also says what it was then.
    """
    out = ['<section id="kpis" class="kpis">']
    for k in figures:
        before = ""
        if previous is not None:
            before = (
                f'<div class="kpi-previous" title="{html.escape(previous_period(previous))}">'
                f"before: {html.escape(_cell(k.previous, k.kind))}</div>"
            )
        out.append(
            f'<div class="kpi" id="kpi-{html.escape(k.key)}" title="{html.escape(k.definition)}">'
            f'<div class="kpi-value">{html.escape(_cell(k.value, k.kind))}</div>'
            f'<div class="kpi-label">{html.escape(k.label)}</div>{before}</div>'
        )
    out.append("</section>")
    if previous is not None:
        out.append(f'<p class="note">before: {html.escape(previous_period(previous))}</p>')
    return out


def to_html(report: Report, journal: str) -> str:
    """The report as one self-contained HTML page: tables, and charts drawn inline as SVG."""
    lines = heading(report, journal)
    out = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8"/>',
        f"<title>{html.escape(lines[0])}</title>",
        f"<style>{_PAGE_CSS}</style>",
        "</head>",
        "<body>",
        f"<h1>{html.escape(lines[0])}</h1>",
        *(f'<p class="heading">{html.escape(line)}</p>' for line in lines[1:]),
        *_key_figures_html(
            kpis(report.totals, report.previous.totals if report.previous else None),
            report.previous,
        ),
        "<h2>Charts</h2>",
    ]
    for element_id, chart in charts(report):
        out.append(f'<figure id="{html.escape(element_id)}">')
        out.append(chart.render(is_unicode=True))
        out.append("</figure>")
    for table in report_tables(report):
        out.append(f'<section id="table-{html.escape(table.key)}">')
        out.append(f"<h2>{html.escape(table.title)}</h2>")
        if table.note:
            out.append(f'<p class="note">{html.escape(table.note)}</p>')
        out.append(_html_table(table))
        out.append("</section>")
    out += _recordings_section(report)
    out += ["</body>", "</html>", ""]
    return "\n".join(out)


def _file_url(path: str) -> str:
    """A link to a recording from the page: a file URL for an absolute path, else as written."""
    where = Path(path)
    return where.as_uri() if where.is_absolute() else urllib.parse.quote(path)


def _recordings_section(report: Report) -> list[str]:
    """The recorded calls, latest first, each with its player, link and masked spans."""
    if not report.recorded:
        return []
    shown = len(report.recorded)
    out = ['<section id="recordings">', "<h2>Recordings</h2>"]
    if shown < report.recorded_calls:
        out.append(
            f'<p class="note">The latest {shown} of {report.recorded_calls} recorded calls; '
            "ivr recordings list shows them all.</p>"
        )
    out.append(
        "<table><thead><tr><th>started</th><th>call</th><th>tenant</th><th>queue</th>"
        "<th>agent</th><th>outcome</th><th>seconds</th><th>masked</th><th>recording</th>"
        "</tr></thead><tbody>"
    )
    for entry in reversed(report.recorded):
        record = entry.record
        for recording in record.recordings:
            if recording.status not in ("recorded", "stopped"):
                continue
            url = html.escape(_file_url(recording.path))
            masked = ", ".join(f"{a:g}-{b:g}s" for a, b in recording.masked)
            cells = [
                report.local(recording.started_at).strftime("%Y-%m-%d %H:%M:%S"),
                record.call_id,
                record.tenant or "",
                record.queue or "",
                record.agent or "",
                record.outcome or "",
                "" if recording.seconds is None else f"{recording.seconds:g}",
                masked,
            ]
            out.append(
                "<tr>"
                + "".join(f"<td>{html.escape(cell)}</td>" for cell in cells)
                + f'<td><audio controls preload="none" src="{url}"></audio> '
                f'<a href="{url}">file</a></td></tr>'
            )
    out += ["</tbody></table>", "</section>"]
    return out


FORMATS = {"table": to_text, "csv": to_csv, "json": to_json, "html": to_html}
"""Each ``--format`` and the function that writes it."""
