"""Exit codes of every ``labelchain`` subcommand, and the one error type that carries them."""

from __future__ import annotations

OK = 0
"""The command did what was asked (``start --wait``: the execution SUCCEEDED; ``doctor``: no FAIL)."""
NOT_COMPLETED = 1
"""The job or execution did not complete: it failed, was stopped or aborted, timed out, or was still
running when ``--timeout`` ran out; ``doctor``: at least one check failed."""
USAGE = 2
"""Bad usage or bad input: unknown option, unreadable or invalid INPUT.json, a budget below the least the
job can cost, an object count that cannot be determined (argparse also exits 2)."""
AWS = 3
"""AWS or the stack could not be used: no credentials or region, an AWS error, the stack is not deployed
or lacks an output, the named job or execution does not exist."""
INTERRUPTED = 130
"""Ctrl-C while waiting (the execution keeps running)."""

EXIT_CODES_HELP = f"""exit codes:
  {OK}    success
  {NOT_COMPLETED}    the job/execution did not complete (failed, stopped, timed out); doctor: a check failed
  {USAGE}    bad usage or invalid input
  {AWS}    AWS or the stack unavailable (credentials, region, stack not deployed, not found)
  {INTERRUPTED}  interrupted (Ctrl-C)"""


class CliError(Exception):
    """A problem to report on stderr, ending the command with ``code``."""

    def __init__(self, message: str, code: int = USAGE) -> None:
        super().__init__(message)
        self.code = code
