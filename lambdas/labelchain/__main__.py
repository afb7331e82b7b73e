"""``python -m labelchain``: the same CLI as the ``labelchain`` console script (docs/CLI.md)."""

import sys

from labelchain.cli.main import main

sys.exit(main())
