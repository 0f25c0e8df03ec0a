"""Benchmarks of codex-wizard against the manual OpenSSH route (see docs/benchmarks.md)."""
