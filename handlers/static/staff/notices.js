// 督办: notices addressed to the staff member's role in their department (missed deadlines, reopened tickets,
// stuck refunds), newest first.

import { getJson } from "./api.js";
import { badge, el, emptyBox, heading, time } from "./ui.js";

const KIND = {
  "escalation.callback": "回访超时", "escalation.rectify": "整改超时",
  "rectification.reopened": "群众反馈未解决", "refund.stuck": "退款受阻",
};

export async function renderNotices(view, { me, current }) {
  const { notifications } = await getJson("/api/v1/staff/notifications");
  if (!current()) return;  // another page was opened meanwhile
  const rows = notifications.map((n) => el("li", { class: "card notice-row", testid: "notice" },
    el("div", { class: "material-head" }, badge(KIND[n.kind] || n.kind, "badge-warn"),
       el("span", { class: "mono" }, time(n.created_at))),
    el("p", {}, n.text),
    el("p", { class: "links" },
      n.ticket_id ? el("a", { href: "#tickets" }, `查看整改工单 ${n.ticket_id}`) : null,
      n.case_number ? el("a", { href: `#case/${encodeURIComponent(n.case_number)}` }, `查看办件 ${n.case_number}`)
        : null)));
  const none = me.role === "supervisor" ? "暂时没有督办通知。" : "暂时没有给您岗位的通知。督办通知发给本部门的督办人员。";
  view.replaceChildren(heading("督办通知"),
    rows.length ? el("ul", { class: "tickets", testid: "notice-list" }, rows) : emptyBox(none));
}
