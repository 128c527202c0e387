"""WeChat mini-program platform: callback crypto and parsing, the server APIs, the shared access_token.

Modules: `crypto` (signatures, safe-mode AES), `messages` (callback bodies → models), `callback` (the
whole check of one callback request), `api` (`WeChatApi`, every server API), `tokens` (`AccessTokens`
and the `TokenCache` port), `errors` (every exception raised by the API client).
"""
