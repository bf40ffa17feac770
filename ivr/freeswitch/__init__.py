"""freeswitch."""
