"""Plain async core: SSH, probes, ports, tunnel, login session, auth parsing. No Textual here."""
