"""What a Codex login is: auth.json parsed into a secret-free record, and whether codex will work
with it (its renewal rule). Pure, no I/O.

May import: core's base modules (sanitize, files, tasks).
"""
