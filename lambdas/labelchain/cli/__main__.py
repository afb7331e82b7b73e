"""``python -m labelchain.cli``: the same as the ``labelchain`` console script."""

from __future__ import annotations

import sys

from labelchain.cli.main import main

sys.exit(main())
