"""With require_login the sandbox confirm takes the payer from the session token, like every citizen API."""
from __future__ import annotations

import pytest


@pytest.mark.parametrize("require_login", [True])
async def test_confirming_without_a_token_is_a_401(client) -> None:
    response = await client.post("/api/v1/payments/sandbox/DLH20261127000001P01/confirm", params={"user": "u1"})
    assert response.status == 401 and response.headers["WWW-Authenticate"] == "Bearer"
