"""``labelchain``: the command-line interface of a LabelChain deployment (docs/CLI.md).

One subcommand per module (``validate``, ``start``, ``status``, ``stop``, ``jobs``, ``report``,
``cost``, ``doctor``), one output formatter (``output``), one place that finds the stack and its
outputs (``stack``), and the AWS session every subcommand shares (``aws``). Installed as the console
script ``labelchain`` (pyproject.toml) and runnable as ``python -m labelchain.cli``.

Nothing the Lambdas run imports this package: it is a client of the deployed stack, as a person at a
terminal is. It needs boto3 and pydantic (both already in the Lambda runtime) and, for ``report``
only, matplotlib.
"""
