"""What runs on the server over the one connection: the probe and the user's shell environment,
a stoppable remote command, installs and verification, the tunnel, the `codex login` session and
the relay, with the login's typed events. May import: ssh/, tokens/, laptop/ and core's base."""
