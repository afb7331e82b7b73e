"""Client-side fault injection for the offline stack: throttle a share of an AWS client's requests.

moto never throttles, so the offline stack throttles the Lambdas' own clients at the HTTP layer
(``before-send``): botocore sees a real ``ThrottlingException`` response and retries it as it would on
AWS; what its retries cannot absorb reaches the adapters as ``TransientServiceError`` and the state
machine's Retry. Seeded, so a run is repeatable.
"""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Iterator
from typing import Any

from botocore.awsrequest import AWSResponse


class _Body:
    def __init__(self, payload: bytes) -> None:
        self._payload = payload

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._payload


class Throttling:
    """Answers ``rate`` of the requests of a client with HTTP 400 ThrottlingException."""

    def __init__(self, rate: float, seed: int) -> None:
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"throttling rate must be between 0 and 1, got {rate}")
        self.rate = rate
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self.requests = 0
        self.throttled = 0

    def attach(self, client: Any) -> None:
        """Throttle ``client`` (a boto3 client) from now on."""
        service = client.meta.service_model.service_name
        client.meta.events.register(f"before-send.{service}", self._maybe_throttle)

    def _maybe_throttle(self, request: Any, **_: Any) -> AWSResponse | None:
        with self._lock:
            self.requests += 1
            throttle = self._random.random() < self.rate
            self.throttled += throttle
        if not throttle:
            return None
        body = json.dumps({"__type": "ThrottlingException", "message": "Rate exceeded (injected)"}).encode()
        headers = {"x-amzn-ErrorType": "ThrottlingException", "Content-Type": "application/x-amz-json-1.0"}
        return AWSResponse(request.url, 400, headers, _Body(body))
