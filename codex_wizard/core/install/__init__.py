"""The standalone Codex (no Node.js): the plan (which platform package, where), the npm registry
documents, the server-side scripts, and the install over the one connection. May import:
server/, ssh/, tokens/, laptop/ and core's base."""
