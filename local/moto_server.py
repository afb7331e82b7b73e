"""moto's server, in this process, on a free loopback port, with state machine execution on.

In-process (a thread, not a subprocess) so the engine patches of ``local.moto_engine`` apply to the
executions the server runs: Lambda tasks dispatch to the project's handlers in this same process.
"""

from __future__ import annotations

import json
import os
import socket
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from unittest import mock


@contextmanager
def threaded_moto_server(host: str = "127.0.0.1") -> Iterator[str]:
    """Run moto's server in this process with state machine execution on; yields its endpoint URL.

    Sets ``MOTO_PORT`` (where the engine sends its service calls) and ``AWS_ENDPOINT_URL`` (for the
    caller's boto3 clients) and restores both, and the global moto config, on exit.
    """
    from moto.core.config import default_user_config  # noqa: PLC0415
    from moto.server import ThreadedMotoServer  # noqa: PLC0415

    with socket.socket() as probe:
        probe.bind((host, 0))
        port = probe.getsockname()[1]
    endpoint = f"http://{host}:{port}"
    server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
    server.start()
    environment = {"MOTO_PORT": str(port), "AWS_ENDPOINT_URL": endpoint}
    try:
        with mock.patch.dict(default_user_config), mock.patch.dict(os.environ, environment):
            # The server's way to take ``mock_aws(config=...)``; it writes moto's global config.
            body = json.dumps({"stepfunctions": {"execute_state_machine": True}}).encode()
            request = urllib.request.Request(f"{endpoint}/moto-api/config", data=body, method="POST")
            urllib.request.urlopen(request, timeout=10).close()
            _reset(endpoint)  # moto's backends live in this process: start from an empty account
            yield endpoint
            _reset(endpoint)
    finally:
        server.stop()


def _reset(endpoint: str) -> None:
    request = urllib.request.Request(f"{endpoint}/moto-api/reset", data=b"", method="POST")
    urllib.request.urlopen(request, timeout=10).close()
