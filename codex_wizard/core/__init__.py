"""The plain async core: everything codex-wizard knows and does, with no Textual import.

It is made of layers; each part imports only the parts below it (tests/test_layers.py checks):

    flow prompter preflight progress      the orchestration: the login once, its questions, the
    doctor fleet services                 checks before it (preflight), doctor, fleets
    logins/  install/                     a login as it stands on a machine; the standalone codex
    server/                               what runs on the server: probe, login, relay, tunnel
    ssh/                                  one connection to a host, as ssh_config and OpenSSH say
    tokens/  laptop/                      what an auth.json means; this computer's ports, browser
    sanitize files tasks clock sshopts    below everything
"""
