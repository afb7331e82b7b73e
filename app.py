#!/usr/bin/env python3
"""CDK entry point: builds the LabelChain stack from ``cdk.json`` context and synthesizes it.

``npx cdk synth|deploy`` runs it (the CLI supplies the output directory and any ``-c`` overrides);
``python app.py`` alone writes the same cloud assembly to ``cdk.out/``. No AWS call is made: the stack
is environment-agnostic, and cdk-nag (AwsSolutions) fails the synth on any unacknowledged finding.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "lambdas"))  # the labelchain package

from infra.application import PROJECT_ROOT, build_app
from infra.config import ContextError

try:
    app = build_app(outdir=os.environ.get("CDK_OUTDIR", str(PROJECT_ROOT / "cdk.out")))
except ContextError as error:
    sys.exit(f"LabelChain: {error}")
app.synth()
