// The staff console shell: sign-in with the staff token (kept in sessionStorage for the session), who is signed
// in, the nav, and the hash routes of the pages (#cases, #case/<number>, #tickets, #notices, #stats).

import { ApiError, getJson, session } from "./api.js";
import { renderCase, renderCases } from "./cases.js";
import { renderNotices } from "./notices.js";
import { renderStats } from "./stats.js";
import { renderTickets } from "./tickets.js";
import { ROLE, clearToast, el, errorBox } from "./ui.js";

const $ = (id) => document.getElementById(id);
const PAGES = {
  cases: renderCases,
  case: renderCase,
  tickets: renderTickets,
  notices: renderNotices,
  stats: renderStats,
};
let me = null;
let shown = 0;  // counts page openings: a page's late answer must not replace the page opened after it

function route() {
  const [name, ...rest] = location.hash.replace(/^#/, "").split("/");
  return PAGES[name] ? { name, arg: decodeURIComponent(rest.join("/")) } : { name: "cases", arg: "" };
}

async function show() {
  if (!me) return;
  const { name, arg } = route();
  const opening = ++shown;
  clearToast();  // what was said about the last page is not about this one
  for (const link of document.querySelectorAll("#nav a[data-view]")) {
    const current = link.dataset.view === name || (name === "case" && link.dataset.view === "cases");
    if (current) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  const view = $("view");
  view.replaceChildren(el("p", { class: "loading", role: "status" }, "正在加载…"));
  view.setAttribute("aria-busy", "true");
  try {
    await PAGES[name](view, { me, arg, current: () => opening === shown });
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    if (opening === shown) view.replaceChildren(errorBox(error));
  } finally {
    view.removeAttribute("aria-busy");
  }
}

function signedOut(message = "") {
  session.end();
  me = null;
  $("who").hidden = true;
  $("nav").hidden = true;
  $("view").replaceChildren();
  $("signin").hidden = false;
  $("signin-error").textContent = message;
  $("token").value = "";
  $("token").focus();
}

async function signIn() {
  try {
    me = await getJson("/api/v1/staff/me");
  } catch (error) {
    signedOut(error.status === 401 ? "令牌无效或已过期，请向管理员确认。" : error.message);
    return;
  }
  $("signin").hidden = true;
  $("who-text").textContent = `${me.name} · ${ROLE[me.role] || me.role} · ${me.department}`;
  $("who").hidden = false;
  $("nav").hidden = false;
  await show();
}

$("signin-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const token = $("token").value.trim();
  if (!token) return;
  session.start(token);
  $("token").value = "";
  signIn();
});
$("sign-out").addEventListener("click", () => signedOut("您已退出。"));
window.addEventListener("staff:signed-out", (event) => signedOut(event.detail));
window.addEventListener("hashchange", () => {
  show();
  $("main").focus({ preventScroll: true });
});

if (session.token()) signIn();
else signedOut();
