#!/usr/bin/env python3
"""Write docs/ssh-compat.md from the differential suite's cases (tests/ssh_compat_cases.py).

    python scripts/ssh-compat-doc.py

tests/test_ssh_compat_doc.py fails when the file is not what this writes.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.ssh_compat_cases import DOC_PATH, render_doc

if __name__ == "__main__":
    DOC_PATH.write_text(render_doc())
    print(f"wrote {DOC_PATH}")
