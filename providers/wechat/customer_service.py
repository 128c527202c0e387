"""The customer-service channel of bot/customer_service.py on WeChat's API: WeChat's error codes become the
two outcomes the domain acts on (refused: do not retry; unavailable: retry later)."""
from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Callable

from bot.customer_service import ChannelUnavailable, SendRefused
from providers.wechat.api import WeChatApi
from providers.wechat.errors import (MediaTooLarge, RateLimited, TokenUnavailable, WeChatApiError,
                                     WeChatUnavailable)

THUMB = Path(__file__).with_name("card_thumb.png")
THUMB_LIFETIME = 2.5 * 24 * 3600  # temporary media live 3 days at WeChat


@asynccontextmanager
async def _outcomes() -> AsyncIterator[None]:
    """Unreachable, token trouble and rate limits: retry later. Any errcode (45015 window expired, 45047
    quota, …): WeChat will not take this message."""
    try:
        yield
    except (WeChatUnavailable, TokenUnavailable, RateLimited) as exc:
        raise ChannelUnavailable(str(exc)) from exc
    except WeChatApiError as exc:
        raise SendRefused(f"{exc.errcode} {exc.errmsg}") from exc


class WeChatCustomerService:
    def __init__(self, api: WeChatApi, clock: Callable[[], float] = time.monotonic) -> None:
        self._api, self._clock = api, clock
        self._thumb: tuple[str, float] | None = None  # media_id of the card picture, and when it was uploaded

    async def send_text(self, openid: str, text: str) -> None:
        async with _outcomes():
            await self._api.send_text(openid, text)

    async def send_page(self, openid: str, title: str, pagepath: str) -> None:
        async with _outcomes():
            await self._api.send_miniprogram_page(openid, title, pagepath, await self._thumb_media_id())

    async def _thumb_media_id(self) -> str:
        """The card picture as temporary media, uploaded again before WeChat forgets it."""
        if self._thumb is None or self._clock() - self._thumb[1] > THUMB_LIFETIME:
            media_id = await self._api.upload_temp_media(THUMB.read_bytes(), THUMB.name, "image/png")
            self._thumb = (media_id, self._clock())
        return self._thumb[0]

    async def fetch_image(self, media_id: str, max_bytes: int) -> bytes | None:
        try:
            return (await self._api.get_temp_media(media_id, max_bytes)).data
        except MediaTooLarge:
            return None
        except (WeChatUnavailable, TokenUnavailable, WeChatApiError) as exc:
            raise ChannelUnavailable(str(exc)) from exc
