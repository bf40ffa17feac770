"""Reports on the call journal: containment, abandonment, service level, agents, node funnel.

``build_report`` puts every figure together from the sums the journal adds up;
``report_tables`` lays them out; ``ivr.report.render`` writes them as a terminal table, CSV or
one HTML page with charts;
``run_report`` is ``ivr report``.
"""

from ivr.report.command import ReportOptionError, run_report
from ivr.report.figures import Report, build_report
from ivr.report.tables import Table, report_tables

__all__ = ["Report", "ReportOptionError", "Table", "build_report", "report_tables", "run_report"]
