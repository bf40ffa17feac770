"""A project put together: the flow language compiled with the node types and data sources.

``ivr.flow`` is a language that knows no node type and no data source; this is where a folder
meets the built-in node types and the installed plugins (the node registry) and the data sources
of ``ivr.data``. Everything that loads a folder of flows does it through ``load_project``.
"""

from __future__ import annotations

from pathlib import Path

from ivr.data import DataSourceField, load_shared_data
from ivr.flow.compiler import Kit, Project, compile_folder
from ivr.flow.compiler import flow_json_schema as _flow_json_schema
from ivr.nodes.registry import NodeRegistry, default_registry
from ivr.outbound.check import check_campaign

__all__ = ["Project", "kit", "flow_json_schema", "load_project"]


def kit(registry: NodeRegistry | None = None) -> Kit:
    """What flows may use: ``registry``'s node types (default: built-ins and plugins), data.

    Campaigns are checked with the files they name (``ivr.outbound``).
    """
    return Kit(
        node_types=registry or default_registry(),
        data_field=DataSourceField,
        load_shared_data=load_shared_data,
        check_campaign=check_campaign,
    )


def load_project(folder: Path, registry: NodeRegistry | None = None) -> Project:
    """Load and compile every flow and config file of ``folder``.

    Args:
        folder: the project folder (flows, queues.yaml, agents.yaml...).
        registry: the node types (default: the built-ins and the installed plugins).

    Returns:
        The project; ``project.diag`` holds every mistake found (check ``project.ok``).
    """
    return compile_folder(folder, kit(registry))


def flow_json_schema(registry: NodeRegistry | None = None) -> dict:
    """The JSON Schema of a flow file, for editors (yaml-language-server) to autocomplete."""
    return _flow_json_schema(kit(registry))
