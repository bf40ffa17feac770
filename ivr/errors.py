"""The root of every exception the framework raises on purpose: ``IvrError``.

Catch ``IvrError`` to handle anything ivr itself reports, and nothing else (a bug in a plugin
or a library still shows as what it is). Under it, by where it comes from:

- ``ivr.runtime.channel.CallEnded``: the call is over (the caller hung up, FreeSWITCH went
  away); it unwinds the call's greenlet and is not a mistake. ``ChannelError``: the line refused
  an operation (a prompt that cannot be rendered, FreeSWITCH refusing a command, a lost socket).
- ``ivr.freeswitch.esl.ESLError``: the event socket's protocol (a malformed frame, a failed
  login, a command that cannot be sent).
- ``ivr.nodes.base.NodeError``, ``ivr.nodes.registry.PluginError``,
  ``ivr.data.base.DataSourceError``, ``ivr.prompts.sayas.SayAsError``,
  ``ivr.prompts.audio.AudioError``: a node, a plugin, a data source, a value to say, a sound file.
- ``ivr.acd.model.AcdError``, ``ivr.acd.store.StoreError``, ``ivr.acd.control.ApiError`` and
  ``ControllerUnreachable``: agents, queues and their state, and the API that changes them.
- ``ivr.store.journal.JournalError``: the call journal.
- ``ivr.cli.UsageError`` and the commands' own (``InitError``, ``ReportOptionError``,
  ``ConfInstallError``, ``AppArgumentError``): a mistake on the command line or in what it names,
  told in one line with exit code 2.
"""

from __future__ import annotations

__all__ = ["IvrError"]


class IvrError(Exception):
    """Something ivr reports on purpose, with a message that says what is wrong and where."""
