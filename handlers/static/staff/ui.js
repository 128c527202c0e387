// Small DOM helpers and the Chinese labels the pages share. Text always goes in as text, never as HTML.

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "testid") node.dataset.testid = value;
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export const ROLE = { clerk: "窗口受理", approver: "审批", supervisor: "督办" };

export const STATUS = {
  submitted: "待预审", returned: "退回补正", pre_reviewed: "预审通过", accepted: "已受理",
  refused: "不予受理", in_progress: "审批中", completed: "已办结", withdrawn: "已撤回",
};

// The button of a move, by the status it leads to.
export const MOVE = {
  returned: "退回补正", pre_reviewed: "预审通过", accepted: "受理", refused: "不予受理",
  in_progress: "开始审批", completed: "办结",
};

export const PROVIDED = {
  upload: "已上传", licence: "电子证照", deferred: "容缺待补交", received: "容缺已补交",
  pledge: "告知承诺", skipped: "未提供", missing: "未提供",
};

export const TICKET = { open: "待回访", called_back: "已回访，整改中", closed: "已办结" };

export function day(iso) {
  return iso ? iso.slice(0, 10) : "";
}

export function time(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

export function percent(rate) {
  return rate === null || rate === undefined ? "—" : `${Math.round(rate * 1000) / 10}%`;
}

let toastTimer = 0;
export function toast(message) {
  const box = document.getElementById("toast");
  box.textContent = message;
  box.classList.add("shown");
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => box.classList.remove("shown"), 4000);
}

export function clearToast() {
  clearTimeout(toastTimer);
  document.getElementById("toast").classList.remove("shown");
}

// A page's error in place of its content: what went wrong, politely, and a way on.
export function errorBox(error) {
  return el("div", { class: "notice notice-error", role: "alert", testid: "error" }, error.message);
}

export function emptyBox(text) {
  return el("p", { class: "empty", testid: "empty" }, text);
}

export function heading(text, ...extra) {
  return el("div", { class: "view-head" }, el("h1", { text }), ...extra);
}

export function badge(text, kind = "") {
  return el("span", { class: `badge ${kind}`.trim() }, text);
}
