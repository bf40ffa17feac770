"""Text a caller controls (caller-ID name and number, what a lookup found), made to do harm.

Each value sets the FreeSWITCH global variable ``probe`` if it is ever expanded, so a test can
tell both that it arrived as it was and that nothing in it ran.
"""

from __future__ import annotations


def hostile(probe: str) -> list[str]:
    """Values that run ``global_setvar probe=ran`` if FreeSWITCH expands them, and others that
    quoting and escaping could spoil."""
    return [
        f"${{global_setvar({probe}=ran)}}",
        f"Jane ${{global_setvar({probe}=ran)}} Doe",
        f"\\${{global_setvar({probe}=ran)}}",
        f"$${{global_setvar({probe}=ran)}}",
        f"O'Brien, Jr \\ 'quoted' \\'x\\' a=b \\n ${{global_setvar {probe}=ran}}",
        "  spaces around  ",
        "$5 and $$ and \\\\",
    ]
