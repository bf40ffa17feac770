"""Which TTS voice speaks a language on a call: the node's, the tenant's, the flow's, the default.

A voice belongs to a language: a tenant's ``voice`` speaks the tenant's language and a flow's
``voice`` the flow's default language. When a ``language`` node switches a call to another
language without naming a voice, the engine's own voice for that language speaks, never the
voice of another language.
"""

from __future__ import annotations

from ivr.flow.compiler import CompiledFlow
from ivr.flow.config import Tenant
from ivr.flow.prompts import base_language


def _same(a: str, b: str) -> bool:
    return base_language(a) == base_language(b)


def voice_for(language: str, flow: CompiledFlow, tenant: Tenant | None) -> str | None:
    """The voice for ``language`` on a call of ``flow`` for ``tenant``; None for the default.

    Args:
        language: the language the call is speaking.
        flow: the call's flow (its ``language`` and ``voice``).
        tenant: the company the call is for, if any (its ``language`` and ``voice``).
    """
    if tenant is not None and tenant.voice and _same(tenant.language or flow.language, language):
        return tenant.voice
    if flow.voice and _same(flow.language, language):
        return flow.voice
    return None
