"""Payment endpoints: WeChat Pay's notify callback, the sandbox's stand-in for the payer, and staff views of
orders and of the daily reconciliation."""
from __future__ import annotations

import logging
from datetime import date

from aiohttp import web

from bot.errors import Forbidden
from bot.lifecycle import Role
from bot.payments.ports import NotificationRejected
from bot.payments.sandbox import SandboxPay
from bot.payments.service import Payments
from bot.staff import Staff
from bot.review import CaseReview
from handlers.auth import USER_PARAM, RequestAuth
from handlers.problems import dumps, problem
from handlers.routes import Param, Route
from handlers.staff_auth import StaffRoutes

_NOTIFY_HEADERS = tuple(f"Wechatpay-{h}" for h in ("Signature", "Timestamp", "Nonce", "Serial"))
_NOTIFY_BODY = {"required": True, "description": "WeChat Pay's notification: an AES-256-GCM encrypted resource, "
                "signed in the headers " + ", ".join(_NOTIFY_HEADERS),
                "content": {"application/json": {"schema": {"type": "object"}}}}
log = logging.getLogger(__name__)
_NOTIFY_REFUSED = {"401": {"description": "{code: FAIL, message} (WeChat Pay's format; it retries)"}}


class PaymentHandlers:
    def __init__(self, payments: Payments, review: CaseReview, sandbox: SandboxPay | None,
                 auth: RequestAuth) -> None:
        self._payments, self._review, self._sandbox, self._auth = payments, review, sandbox, auth

    @property
    def has_sandbox(self) -> bool:
        return self._sandbox is not None

    async def wechat_notify(self, request: web.Request) -> web.Response:
        """WeChat Pay's protocol: 204 when taken, else 4xx/5xx with {"code": "FAIL", "message": …} (it retries)."""
        try:
            await self._payments.receive(request.headers, await request.read())
        except NotificationRejected as exc:
            log.warning("wechatpay notification refused: %s", exc)
            return web.json_response({"code": "FAIL", "message": str(exc)}, status=401)
        return web.Response(status=204)

    async def sandbox_confirm(self, request: web.Request) -> web.Response:
        """Sandbox only: the payer pays their own order; the notification arrives a moment later. Order numbers
        are guessable (case number + P01), so someone else's order answers 404, exactly like a missing one."""
        assert self._sandbox is not None  # the route exists only with the sandbox provider
        out_trade_no = request.match_info["out_trade_no"]
        user = await self._auth.user(request, request.query.get("user"))
        order = await self._payments.order(out_trade_no)
        if user is None or order is None or order.user != user:
            return problem(404, "Not found", "没有找到这笔订单。")
        if not self._sandbox.confirm(out_trade_no):
            return problem(409, "Conflict", "这笔订单不能支付（已支付、已关闭或已过期）。")
        return web.json_response({"paid": True})

    async def case_payments(self, request: web.Request, staff: Staff) -> web.Response:
        number = request.match_info["number"]
        await self._review.view(staff, number)  # scope check (CaseNotFound), and audited as a view
        orders = await self._payments.orders(number)
        return web.json_response({"payments": [p.model_dump(mode="json", exclude={"client_params", "user"})
                                               for p in orders]}, dumps=dumps)

    async def reconciliation(self, request: web.Request, staff: Staff) -> web.Response:
        """GET ?date=YYYY-MM-DD: our orders of that day (China time) against the provider's records."""
        if staff.role is not Role.supervisor:
            raise Forbidden("reconciliation is the supervisor's view")
        try:
            day = date.fromisoformat(request.query.get("date", ""))
        except ValueError:
            return problem(422, "Invalid request", "date 需要 YYYY-MM-DD 格式。")
        mismatches = await self._payments.reconcile(day)
        return web.json_response({"date": day.isoformat(), "mismatches": [m.__dict__ for m in mismatches]},
                                 dumps=dumps)


def routes(payments: PaymentHandlers, guard: StaffRoutes) -> list[Route]:
    """The sandbox's confirm route exists only with the sandbox provider."""
    table = [
        Route("POST", "/api/v1/payments/wechat/notify", payments.wechat_notify,
              "WeChat Pay v3 notification: signature, serial and timestamp window checked, replays refused, acted on "
              "once per out_trade_no", request_body=_NOTIFY_BODY, ok=(204, "taken"), responses=_NOTIFY_REFUSED),
        guard.route("GET", "/api/v1/staff/cases/{number}/payments", payments.case_payments,
                    "Payment orders of a case (staff of its department; audited as a view)",
                    ok=(200, "{payments: [...]}"), problems=(404,)),
        guard.route("GET", "/api/v1/staff/payments/reconciliation", payments.reconciliation,
                    "Orders of a day (China time) compared with the provider's records (supervisors)",
                    params=(Param("date", required=True, format="date"),),
                    ok=(200, "{date, mismatches: [{out_trade_no, case_number, kind, ours, theirs}]}"), problems=(422,)),
    ]
    if payments.has_sandbox:
        table.append(Route("POST", "/api/v1/payments/sandbox/{out_trade_no}/confirm", payments.sandbox_confirm,
                           "Sandbox provider only: the payer pays their own order (stands in for "
                           "wx.requestPayment); someone else's order answers 404", params=(USER_PARAM,),
                           ok=(200, "paid; the notification follows"), problems=(401, 404, 409)))
    return table
