"""`python -m codex_wizard` runs the codex-wizard command."""

import sys

from .cli.main import main

sys.exit(main())
