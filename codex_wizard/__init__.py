"""codex-wizard: log the Codex CLI in on a headless server over one SSH connection."""

import warnings

from cryptography.utils import CryptographyDeprecationWarning

__version__ = "0.1.0"

# cryptography deprecates algorithms that asyncssh still names (cryptography 51: DSA, in
# asyncssh 2.24.1's type hints, at import time). A user can do nothing about those, and Python
# shows a UserWarning subclass by default: five blocks on stderr before every command's output.
# Only this category, and only when the warning is attributed to asyncssh's own modules
# (`module` is the __name__ of the frame warnings.warn blames: asyncssh.crypto.dsa and so on).
# Set here, in the package's __init__, so it is in place before any submodule imports asyncssh.
warnings.filterwarnings("ignore", category=CryptographyDeprecationWarning, module=r"asyncssh(\.|$)")
