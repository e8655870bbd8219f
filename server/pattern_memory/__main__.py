"""`python -m pattern_memory`. `-m` puts the current folder first on sys.path, and editors
start the server in the workspace: a checkout of httpx, pydantic or numpy would then shadow
the packages we depend on with its own sources. Drop that entry, as `python -P` does."""

import os
import sys

if sys.path and not sys.flags.safe_path and os.path.abspath(sys.path[0] or ".") == os.getcwd():
    del sys.path[0]

from pattern_memory.cli import main

raise SystemExit(main())
