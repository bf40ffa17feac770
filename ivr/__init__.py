"""IVR: voice menus and contact-center queues for FreeSWITCH, written in YAML."""
