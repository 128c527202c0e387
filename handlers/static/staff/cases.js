// 办件: the queue of the staff member's scope with filters, and a case page with its materials and the moves the
// role may make (return for correction with per-material reasons, pre-review, accept, refuse, …), 容缺 receipt and
// 告知承诺 verification. Personal data is shown masked; revealing it takes a reason (audited by the API).

import { getBlob, getJson, postJson } from "./api.js";
import { MOVE, PROVIDED, STATUS, badge, day, el, emptyBox, errorBox, heading, time, toast } from "./ui.js";

function filtersForm(params, onChange) {
  const status = el("select", { id: "f-status", testid: "filter-status" },
    el("option", { value: "" }, "全部在办"),
    ...["submitted", "returned", "pre_reviewed", "accepted", "in_progress"].map(
      (s) => el("option", { value: s, selected: params.status === s }, STATUS[s])));
  const overdue = el("input", { type: "checkbox", id: "f-overdue", testid: "filter-overdue",
                                checked: params.overdue });
  const form = el("form", { class: "filters", "aria-label": "筛选办件" },
    el("label", { for: "f-status" }, "状态"), status,
    el("label", { class: "check" }, overdue, "只看超期"));
  form.addEventListener("change", () => onChange({ status: status.value, overdue: overdue.checked }));
  form.addEventListener("submit", (event) => event.preventDefault());
  return form;
}

function caseRow(c) {
  const d = c.deadlines;
  const flags = [
    d.overdue && badge("已超期", "badge-danger"),
    !d.overdue && d.due_soon && badge("即将到期", "badge-warn"),
    c.pledge_false && badge("承诺不实", "badge-danger"),
  ];
  const due = c.status === "submitted" ? `预审期限 ${day(d.pre_review_due)}` : `承诺办结 ${day(d.promised)}`;
  return el("li", { class: "row" },
    el("a", { class: "row-link", href: `#case/${encodeURIComponent(c.number)}`, testid: "case-row" },
      el("span", { class: "row-main" }, el("strong", {}, c.name), el("span", { class: "mono" }, c.number)),
      el("span", { class: "row-meta" }, badge(STATUS[c.status] || c.status, `status-${c.status}`), ...flags,
        el("span", {}, `提交于 ${time(c.submitted_at)}`), el("span", {}, due))));
}

export async function renderCases(view) {
  const params = { status: "", overdue: false };
  const list = el("div");
  async function load() {
    const query = new URLSearchParams();
    if (params.status) query.set("status", params.status);
    if (params.overdue) query.set("overdue", "true");
    try {
      const { cases } = await getJson(`/api/v1/staff/cases?${query}`);
      list.replaceChildren(cases.length
        ? el("ul", { class: "rows", testid: "case-list", "aria-label": "办件列表" }, cases.map(caseRow))
        : emptyBox("没有符合条件的办件。"));
    } catch (error) {
      list.replaceChildren(errorBox(error));
    }
  }
  view.replaceChildren(heading("办件"), filtersForm(params, (next) => {
    Object.assign(params, next);
    load();
  }), list);
  await load();
}

// ------------------------------------------------------------------ the case page

function fieldsSection(c, me) {
  const list = el("dl", { class: "fields", testid: "fields" });
  const show = (fields) => list.replaceChildren(...Object.entries(fields).flatMap(([key, value]) => [
    el("dt", {}, c.field_labels[key] || key), el("dd", {}, value)]));
  show(c.fields);
  const section = el("section", { class: "card", "aria-labelledby": "fields-title" },
    el("h2", { id: "fields-title" }, "申请信息"), list);
  if (me.role === "supervisor") return section;
  const reason = el("input", { id: "reveal-reason", testid: "reveal-reason", minlength: "2", maxlength: "200",
                               required: true, placeholder: "例如：核对身份证号与原件是否一致" });
  const form = el("form", { class: "inline-form", testid: "reveal-form" },
    el("label", { for: "reveal-reason" }, "查看完整个人信息的原因（将被记录）"), reason,
    el("button", { class: "btn", type: "submit" }, "显示完整信息"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const { fields } = await postJson(`/api/v1/staff/cases/${encodeURIComponent(c.number)}/reveal`,
                                        { reason: reason.value.trim() });
      show(fields);
      form.replaceWith(el("p", { class: "hint" }, "已显示完整信息，本次查看已记录。"));
    } catch (error) {
      toast(error.message);
    }
  });
  section.append(form);
  return section;
}

async function openFile(c, m, holder) {
  try {
    const blob = await getBlob(
      `/api/v1/staff/cases/${encodeURIComponent(c.number)}/materials/${encodeURIComponent(m.key)}/file`);
    const url = URL.createObjectURL(blob);
    const preview = blob.type.startsWith("image/")
      ? el("img", { src: url, alt: `${m.name}（申请人上传的文件）`, class: "preview", testid: "material-preview" })
      : el("a", { href: url, target: "_blank", rel: "noopener", testid: "material-preview" }, "打开文件");
    holder.replaceChildren(preview);
  } catch (error) {
    holder.replaceChildren(errorBox(error));
  }
}

function materialsSection(c, me, reload) {
  const canReturn = c.moves.includes("returned");
  const items = c.materials.map((m) => {
    const holder = el("div", { class: "preview-holder" });
    const actions = [];
    if (c.uploads.includes(m.key)) {
      actions.push(el("button", { class: "btn btn-small", type: "button", testid: `view-${m.key}`,
                                  onclick: () => openFile(c, m, holder) }, "查看文件"));
    }
    if (m.provided_as === "deferred" && me.role === "clerk") {
      actions.push(el("button", { class: "btn btn-small", type: "button", testid: `receive-${m.key}`,
        onclick: () => act(`/api/v1/staff/cases/${encodeURIComponent(c.number)}/materials/${encodeURIComponent(m.key)}/received`,
                           {}, "已登记补交。", reload) }, "登记已补交"));
    }
    const fix = canReturn ? el("div", { class: "fix" },
      el("label", { class: "check" }, el("input", { type: "checkbox", name: "fix", value: m.key,
                                                    testid: `fix-${m.key}` }), "需补正"),
      el("input", { name: `fix-reason-${m.key}`, testid: `fix-reason-${m.key}`, maxlength: "200",
                    "aria-label": `${m.name}需要补正的原因`, placeholder: "补正原因，例如：照片模糊" })) : null;
    return el("li", { class: "material", testid: "material" },
      el("div", { class: "material-head" }, el("strong", {}, m.name),
        badge(PROVIDED[m.provided_as] || m.provided_as), ...actions),
      fix, holder);
  });
  return el("section", { class: "card", "aria-labelledby": "materials-title" },
    el("h2", { id: "materials-title" }, "材料"),
    items.length ? el("ul", { class: "materials" }, items) : emptyBox("这个办件没有材料。"));
}

function pledgesSection(c, me, reload) {
  if (!c.pledges.length) return null;
  const canVerify = me.role === "clerk" || me.role === "approver";
  return el("section", { class: "card", "aria-labelledby": "pledges-title" },
    el("h2", { id: "pledges-title" }, "告知承诺核查"),
    el("ul", { class: "materials" }, c.pledges.map((p) => {
      const state = p.verification
        ? badge(p.verification.outcome === "confirmed" ? "核查属实" : "核查不实",
                p.verification.outcome === "confirmed" ? "badge-ok" : "badge-danger")
        : badge("待核查", "badge-warn");
      const note = el("input", { maxlength: "500", "aria-label": `${p.name}的核查说明`,
                                 placeholder: "核查方式，例如：已通过婚姻登记系统核实" });
      const verify = (outcome) => act(
        `/api/v1/staff/cases/${encodeURIComponent(c.number)}/pledges/${encodeURIComponent(p.key)}/verification`,
        { outcome, note: note.value.trim() }, "核查结果已记录，已告知申请人。", reload);
      return el("li", { class: "material" },
        el("div", { class: "material-head" }, el("strong", {}, p.name), state),
        el("p", { class: "hint" }, p.pledge || ""),
        canVerify && el("div", { class: "fix" }, note,
          el("button", { class: "btn btn-small", type: "button", onclick: () => verify("confirmed") }, "属实"),
          el("button", { class: "btn btn-small btn-danger", type: "button", onclick: () => verify("false") },
             "不实")));
    })));
}

function movesSection(c, reload) {
  if (!c.moves.length) return el("section", { class: "card" }, el("h2", {}, "办理"),
    el("p", { class: "hint", testid: "no-moves" }, "当前状态下您的岗位没有可做的操作。"));
  const reason = el("textarea", { id: "move-reason", testid: "move-reason", maxlength: "500", rows: "2",
                                  placeholder: "退回或不予受理时必填，申请人会看到" });
  const buttons = c.moves.map((to) => el("button", {
    class: `btn ${to === "refused" ? "btn-danger" : to === "returned" ? "" : "btn-primary"}`, type: "button",
    testid: `move-${to}`, onclick: () => move(c, to, reason.value.trim(), reload),
  }, MOVE[to] || to));
  return el("section", { class: "card", "aria-labelledby": "moves-title" },
    el("h2", { id: "moves-title" }, "办理"),
    el("label", { for: "move-reason" }, "原因"), reason,
    el("div", { class: "actions" }, buttons));
}

async function act(path, body, done, reload) {
  try {
    await postJson(path, body);
    toast(done);
    await reload();
  } catch (error) {
    toast(error.message);
  }
}

async function move(c, to, reason, reload) {
  const body = { to };
  if (to === "returned") {
    body.materials = {};
    for (const box of document.querySelectorAll("input[name=fix]:checked")) {
      const why = document.querySelector(`input[name="fix-reason-${box.value}"]`).value.trim();
      body.materials[box.value] = why || "请重新提供";
    }
    if (!Object.keys(body.materials).length) return toast("请勾选需要补正的材料，并写明原因。");
    body.reason = reason || Object.values(body.materials).join("；");
  } else if (to === "refused") {
    if (!reason) return toast("不予受理需要写明原因。");
    body.reason = reason;
  }
  await act(`/api/v1/staff/cases/${encodeURIComponent(c.number)}/transitions`, body,
            `已${MOVE[to] || to}。`, reload);
}

const DELIVERY = { window: "窗口领取", mail: "邮寄", elicence: "电子证照" };

function deliverySection(c, me, reload) {
  if (c.status !== "completed" || me.role !== "clerk") return null;
  const method = el("select", { id: "delivery-method", testid: "delivery-method" },
    Object.entries(DELIVERY).map(([value, label]) => el("option", { value }, label)));
  const tracking = el("input", { id: "delivery-tracking", testid: "delivery-tracking", maxlength: "64",
                                 placeholder: "邮寄时必填" });
  const form = el("form", { class: "inline-form", testid: "delivery-form" },
    el("label", { for: "delivery-method" }, "送达方式"), method,
    el("label", { for: "delivery-tracking" }, "快递单号"), tracking,
    el("button", { class: "btn btn-primary", type: "submit" }, "登记送达"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const body = { method: method.value };
    if (tracking.value.trim()) body.tracking_number = tracking.value.trim();
    act(`/api/v1/staff/cases/${encodeURIComponent(c.number)}/delivery`, body, "已登记送达，已告知申请人。", reload);
  });
  return el("section", { class: "card", "aria-labelledby": "delivery-title" },
    el("h2", { id: "delivery-title" }, "结果送达"), form);
}

function historySection(c) {
  return el("section", { class: "card", "aria-labelledby": "history-title" },
    el("h2", { id: "history-title" }, "办理记录"),
    c.events.length ? null : el("p", { class: "hint" }, "还没有办理记录。"),
    el("ol", { class: "history" }, c.events.map((e) => el("li", {},
      el("span", { class: "mono" }, time(e.at)), " ",
      `${STATUS[e.from_status] || e.from_status || "提交"} → ${STATUS[e.to_status] || e.to_status}`,
      e.reason ? `（${e.reason}）` : ""))));
}

export async function renderCase(view, { me, arg, current }) {
  const number = arg;
  const reload = async () => {
    let c;
    try {
      c = await getJson(`/api/v1/staff/cases/${encodeURIComponent(number)}?masked=true`);
    } catch (error) {
      if (!current()) return;
      view.replaceChildren(heading(`办件 ${number}`), errorBox(error),
                           el("a", { href: "#cases", class: "btn" }, "返回办件列表"));
      return;
    }
    if (!current()) return;  // another page was opened meanwhile
    const d = c.deadlines;
    view.replaceChildren(
      el("a", { href: "#cases", class: "back" }, "‹ 办件列表"),
      heading(c.name, badge(STATUS[c.status] || c.status, `status-${c.status}`)),
      el("p", { class: "meta" }, el("span", { class: "mono", testid: "case-number" }, c.number),
         ` · 提交于 ${time(c.submitted_at)} · 预审期限 ${day(d.pre_review_due)} · 承诺办结 ${day(d.promised)}`,
         d.overdue ? badge("已超期", "badge-danger") : null),
      el("div", { class: "columns" },
        el("div", {}, fieldsSection(c, me), materialsSection(c, me, reload), pledgesSection(c, me, reload)),
        el("div", {}, movesSection(c, reload), deliverySection(c, me, reload), historySection(c))));
  };
  await reload();
}
