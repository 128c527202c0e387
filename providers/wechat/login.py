"""The login provider of bot/accounts.py on WeChat's API: code2session and getPhoneNumber, with WeChat's error
codes turned into the two outcomes the domain acts on (refused code; WeChat unavailable)."""
from __future__ import annotations

from bot.accounts import LoginRefused, LoginUnavailable, PhoneNumber, WeChatIdentity
from providers.wechat.api import WeChatApi
from providers.wechat.errors import InvalidCode, RateLimited, TokenUnavailable, WeChatApiError, WeChatUnavailable

_BLOCKED_USER = 40226  # 高风险等级用户，小程序登录拦截


class WeChatLogin:
    def __init__(self, api: WeChatApi) -> None:
        self._api = api

    async def identify(self, code: str) -> WeChatIdentity:
        try:
            session = await self._api.code2session(code)
        except (WeChatUnavailable, RateLimited) as exc:
            raise LoginUnavailable(str(exc)) from exc
        except WeChatApiError as exc:  # 40029/40163 bad code, 40226 user blocked by WeChat; else our setup or -1
            if isinstance(exc, InvalidCode) or exc.errcode == _BLOCKED_USER:
                raise LoginRefused(f"{exc.errcode} {exc.errmsg}") from exc
            raise LoginUnavailable(f"{exc.errcode} {exc.errmsg}") from exc
        return WeChatIdentity(session.openid, session.unionid)

    async def phone_number(self, code: str) -> PhoneNumber:
        try:
            phone = await self._api.get_phone_number(code)
        except (WeChatUnavailable, TokenUnavailable, RateLimited) as exc:
            raise LoginUnavailable(str(exc)) from exc
        except InvalidCode as exc:
            raise LoginRefused(f"{exc.errcode} {exc.errmsg}") from exc
        except WeChatApiError as exc:  # e.g. the app lacks the phone-number permission: not the citizen's fault
            raise LoginUnavailable(f"{exc.errcode} {exc.errmsg}") from exc
        return PhoneNumber(phone.pure_phone_number, phone.country_code)
