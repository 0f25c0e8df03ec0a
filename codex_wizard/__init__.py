"""codex-wizard: log the Codex CLI in on a headless server over one SSH connection."""

__version__ = "0.1.0"
