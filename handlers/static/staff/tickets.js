// 整改: the department's rectification tickets with the rating that opened them (level, tags, comment) and the
// citizen's later answers; staff call back and close with a result, supervisors add a 督办 note.

import { getJson, postJson } from "./api.js";
import { TICKET, badge, day, el, emptyBox, errorBox, heading, time, toast } from "./ui.js";

function noteForm(label, button, testid, send) {
  const id = `${testid}-text`;
  const text = el("textarea", { id, testid: id, rows: "2", maxlength: "1000", required: true });
  const form = el("form", { class: "inline-form", testid },
    el("label", { for: id }, label), text, el("button", { class: "btn btn-small", type: "submit" }, button));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (text.value.trim()) send(text.value.trim());
  });
  return form;
}

function answers(t) {
  const lines = t.citizen_answers.map((a) => el("li", { testid: "citizen-answer" },
    `${time(a.at)} 群众反馈：没有解决，整改单已重新打开`));
  if (t.citizen_resolved === true) lines.push(el("li", { testid: "citizen-answer" }, "群众确认：已解决"));
  if (t.status === "closed" && t.citizen_resolved === null) lines.push(el("li", {}, "等待群众确认是否解决"));
  return lines.length ? el("ul", { class: "answers", "aria-label": "群众的答复" }, lines) : null;
}

function ticketCard(t, me, reload) {
  const id = t.id;
  const send = (action, done) => async (text) => {
    try {
      await postJson(`/api/v1/staff/rectifications/${id}/${action}`, { text });
      toast(done);
      await reload();
    } catch (error) {
      toast(error.message);
    }
  };
  const rating = t.rating;
  const forms = [];
  if (me.role === "supervisor") {
    forms.push(noteForm("督办意见", "提交督办意见", `supervise-${id}`, send("supervision", "督办意见已保存。")));
  } else if (t.status !== "closed") {
    if (t.status === "open") {
      forms.push(noteForm("回访记录", "记录回访", `callback-${id}`, send("callback", "回访已记录。")));
    }
    forms.push(noteForm("整改结果（将告知群众）", "办结整改", `close-${id}`,
                        send("close", "整改已办结，结果已告知群众。")));
  }
  return el("li", { class: "card ticket", testid: "ticket" },
    el("div", { class: "material-head" },
      el("strong", {}, `工单 ${id}`),
      el("a", { class: "mono", href: `#case/${encodeURIComponent(t.case_number)}`, testid: "ticket-case" },
         t.case_number),
      badge(TICKET[t.status] || t.status, t.status === "closed" ? "badge-ok" : ""),
      t.citizen_resolved === false && badge("群众反馈未解决", "badge-warn"),
      t.overdue && badge("已超期", "badge-danger"), t.escalated && badge("已督办", "badge-warn")),
    el("div", { class: "rating", testid: "ticket-rating" },
      badge(rating ? rating.label : t.level_label, "badge-danger"),
      ...(rating ? rating.tags.map((tag) => badge(tag, "badge-tag")) : []),
      rating && rating.comment ? el("q", { class: "comment" }, rating.comment) : null),
    el("dl", { class: "fields" },
      el("dt", {}, "回访期限"), el("dd", {}, day(t.callback_due)),
      el("dt", {}, "整改期限"), el("dd", {}, day(t.rectify_due)),
      t.callback_note && [el("dt", {}, "回访记录"), el("dd", {}, t.callback_note)],
      t.result && [el("dt", {}, t.status === "closed" ? "整改结果" : "上次整改结果"), el("dd", {}, t.result)],
      t.supervision_note && [el("dt", {}, "督办意见"), el("dd", {}, t.supervision_note)]),
    answers(t), ...forms);
}

export async function renderTickets(view, { me }) {
  let escalated = false;
  const list = el("div");
  async function load() {
    try {
      const { rectifications } = await getJson(`/api/v1/staff/rectifications?escalated=${escalated}`);
      const newest = [...rectifications].reverse();
      list.replaceChildren(newest.length
        ? el("ul", { class: "tickets", testid: "ticket-list", "aria-label": "整改工单" },
             newest.map((t) => ticketCard(t, me, load)))
        : emptyBox("没有整改工单。"));
    } catch (error) {
      list.replaceChildren(errorBox(error));
    }
  }
  const only = el("input", { type: "checkbox", testid: "filter-escalated" });
  only.addEventListener("change", () => {
    escalated = only.checked;
    load();
  });
  view.replaceChildren(heading("差评整改"),
    el("form", { class: "filters", "aria-label": "筛选工单" }, el("label", { class: "check" }, only, "只看已督办")),
    list);
  await load();
}
