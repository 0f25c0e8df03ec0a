"""This computer: who holds a login port (here, and the same words for the server's `ss` text),
the browser, the clipboard. No SSH. May import: core's base modules (sanitize, files, tasks)."""
