"""The subscribe-message sender of bot/subscriptions.py on WeChat's API: 43101 (no consent left), unreachable or
busy (retry later), or refused for another reason (do not retry)."""
from __future__ import annotations

from collections.abc import Mapping

from bot.subscriptions import ConsentMissing, SendRejected, SendUnavailable
from providers.wechat.api import WeChatApi
from providers.wechat.errors import (NoSubscribeConsent, RateLimited, TokenUnavailable, WeChatApiError,
                                     WeChatUnavailable)


class WeChatSubscribeSender:
    def __init__(self, api: WeChatApi, miniprogram_state: str = "formal") -> None:
        self._api, self._state = api, miniprogram_state

    async def send(self, openid: str, template_id: str, page: str, data: Mapping[str, str]) -> None:
        try:
            await self._api.send_subscribe(openid, template_id, page, data, miniprogram_state=self._state)
        except NoSubscribeConsent as exc:
            raise ConsentMissing(str(exc)) from exc
        except (WeChatUnavailable, TokenUnavailable, RateLimited) as exc:
            raise SendUnavailable(str(exc)) from exc
        except WeChatApiError as exc:
            raise SendRejected(f"{exc.errcode} {exc.errmsg}") from exc
