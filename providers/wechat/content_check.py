"""The content check of bot/content_check.py on WeChat's msg_sec_check (version 2).

Only a "risky" verdict refuses a text; "review" (uncertain) passes, since the texts checked here are read by
staff, who are the human review. It fails open: when WeChat cannot be reached, or cannot check this user (an
H5 user without an openid), the text is accepted and a warning logged. A rating comment is read only by staff,
never published to other users, and a citizen's right to rate (好差评 on every channel) must not depend on
WeChat being up."""
from __future__ import annotations

import logging

from providers.wechat.api import WeChatApi
from providers.wechat.errors import TokenUnavailable, WeChatApiError, WeChatUnavailable


class WeChatContentCheck:
    def __init__(self, api: WeChatApi, log: logging.Logger) -> None:
        self._api, self._log = api, log

    async def acceptable(self, user: str, text: str) -> bool:
        try:
            result = await self._api.msg_sec_check(user, text)
        except (WeChatUnavailable, TokenUnavailable, WeChatApiError) as exc:
            self._log.warning("content check skipped (accepted unchecked): %s", exc)
            return True
        if result.suggest == "risky":
            self._log.info("content check: text of %s refused, label %d, trace %s", user, result.label,
                           result.trace_id)
            return False
        return True
