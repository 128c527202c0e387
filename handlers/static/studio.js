// The intent studio page: sign in with a staff token (kept in sessionStorage, never in a URL), browse the live
// version's items, edit one item's YAML into a draft (checked by the server), try an utterance on the draft beside
// the live version, publish, roll back, and read the history with diffs. Talks only to /api/v1/studio/.
"use strict";

const API = "/api/v1/studio";
const $ = (id) => document.getElementById(id);
const state = { live: null, files: {}, items: [], item: null, draft: null };

function token() { return sessionStorage.getItem("studioToken") || ""; }

async function call(method, path, body) {
  const response = await fetch(API + path, {
    method, headers: { "Authorization": "Bearer " + token(), ...(body ? { "Content-Type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = new Error(data.detail || ("请求失败（" + response.status + "）"));
    error.status = response.status;
    error.data = data;
    throw error;
  }
  return data;
}

function say(text, kind) {
  const status = $("status");
  status.textContent = text;
  status.className = "status " + (kind || "");
}

function short(id) { return id ? id.slice(0, 12) : ""; }

function when(iso) { return iso ? new Date(iso).toLocaleString("zh-CN", { hour12: false }) : "草稿"; }

// Items are read from the catalog files: each "- code:" block of catalog/*.yaml; after them every file whole
// (bundles, scripts, prompts, dictionaries), to edit what is not an item.
function entriesOf(files) {
  const whole = Object.keys(files).sort().map((path) => (
    { path, code: path, name: "文件", whole: true, start: 0, end: files[path].split("\n").length }));
  return [...itemsOf(files), ...whole];
}

function itemsOf(files) {
  const items = [];
  for (const [path, text] of Object.entries(files)) {
    if (!/^catalog\/[^/]+\.yaml$/.test(path)) continue;
    const lines = text.split("\n");
    let current = null;
    const close = (end) => {  // blank lines between items stay outside the block
      while (end > current.start + 1 && !lines[end - 1].trim()) end -= 1;
      current.end = end;
      items.push(current);
      current = null;
    };
    lines.forEach((line, i) => {
      const start = /^(\s*)- code:\s*(\S+)/.exec(line);
      if (start) {
        if (current) close(i);
        current = { path, code: start[2], indent: start[1].length, start: i, name: "" };
        return;
      }
      if (!current) return;
      if (line.trim() && line.length - line.trimStart().length <= current.indent) { close(i); return; }
      const name = /^\s+name:\s*(.+)$/.exec(line);
      if (!current.name && name) current.name = name[1];
    });
    if (current) close(lines.length);
  }
  return items;
}

function showItems() {
  const query = $("search").value.trim();
  const list = $("items");
  list.replaceChildren();
  for (const item of state.items) {
    if (query && !item.name.includes(query) && !item.code.includes(query) && !item.path.includes(query)) continue;
    const li = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = item.whole ? "文件 · " + item.path : item.name + " · " + item.code;
    button.setAttribute("aria-current", String(state.item === item));
    button.addEventListener("click", () => pick(item));
    li.append(button);
    list.append(li);
  }
}

function pick(item) {
  state.item = item;
  $("item-name").textContent = item.name;
  $("item-file").textContent = item.whole ? item.path + "（整个文件）" : item.path + " 第 " + (item.start + 1) + " 行起";
  $("editor").value = state.files[item.path].split("\n").slice(item.start, item.end).join("\n");
  showItems();
}

async function load() {
  const overview = await call("GET", "/versions");
  state.live = overview.live;
  $("live").textContent = short(overview.live) || "（还没有发布过版本）";
  if (overview.live) {
    state.files = (await call("GET", "/versions/" + overview.live)).files;
    state.items = entriesOf(state.files);
    const again = state.item && state.items.find((i) => i.code === state.item.code);
    state.item = null;
    showItems();
    if (again) pick(again);
  }
  showHistory(overview.versions, overview.live);
}

async function refreshHistory() {
  const overview = await call("GET", "/versions");
  showHistory(overview.versions, overview.live);
}

function showHistory(versions, live) {
  const body = $("history").querySelector("tbody");
  body.replaceChildren();
  for (const v of versions) {
    const row = document.createElement("tr");
    const cells = [short(v.id) + (v.id === live ? "（线上）" : ""), v.author, v.message, when(v.created_at),
                   when(v.published_at)];
    for (const text of cells) {
      const td = document.createElement("td");
      td.textContent = text;
      row.append(td);
    }
    const td = document.createElement("td");
    const action = (label, run) => {
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = label;
      button.addEventListener("click", run);
      td.append(button, " ");
    };
    if (v.parent) action("看改动", () => showDiff(v.parent, v.id));
    if (v.id !== live) action("发布", () => move("publish", { version: v.id }));
    row.append(td);
    body.append(row);
  }
}

async function showDiff(old, now) {
  const diff = await call("GET", "/versions/" + now + "/diff?against=" + encodeURIComponent(old));
  const parts = Object.values(diff.files);
  $("diff").textContent = parts.length ? parts.join("\n") : "两个版本的文件相同。";
}

function showChecks(checks) {
  const box = $("checks");
  box.replaceChildren();
  const head = document.createElement("p");
  head.className = checks.passed ? "good" : "bad";
  head.textContent = checks.passed ? "检查通过，可以发布。" : "检查未通过（" + checks.errors.length + " 个错误），改好后再保存。";
  box.append(head);
  for (const [list, kind] of [[checks.errors, "bad"], [checks.warnings, ""]]) {
    const ul = document.createElement("ul");
    for (const line of list) {
      const li = document.createElement("li");
      li.className = kind;
      li.textContent = line;
      ul.append(li);
    }
    if (list.length) box.append(ul);
  }
}

async function save() {
  const item = state.item;
  if (!item) { say("请先在左边选一个事项。", "error"); return; }
  const lines = state.files[item.path].split("\n");
  if (item.whole) lines.splice(0, lines.length, ...$("editor").value.split("\n"));
  else lines.splice(item.start, item.end - item.start, ...$("editor").value.replace(/\n+$/, "").split("\n"));
  const message = $("message").value.trim() || ("修改「" + item.name + "」");
  say("正在保存并检查……");
  try {
    const result = await call("POST", "/versions", { base: state.live, files: { [item.path]: lines.join("\n") },
                                                    message });
    state.draft = result.version.id;
    $("draft").textContent = short(state.draft);
    $("publish").disabled = !result.checks.passed;
    showChecks(result.checks);
    await refreshHistory();
    say(result.checks.passed ? "草稿已保存。" : "草稿已保存，但检查未通过。", result.checks.passed ? "good" : "error");
  } catch (error) {
    say(error.message + (error.data && error.data.reason ? "（" + error.data.reason + "）" : ""), "error");
  }
}

function showMatch(box, result) {
  box.replaceChildren();
  const words = { match: "找到了", clarify: "需要再问一下", none: "没找到" };
  const head = document.createElement("p");
  head.textContent = (words[result.decision] || result.decision) + "（" + result.decision + "）";
  box.append(head);
  for (const c of result.candidates) {
    const p = document.createElement("p");
    p.className = "match";
    p.textContent = c.name + " [" + c.code + "] " + c.score + " · " + c.terms.join("／");
    box.append(p);
  }
}

async function tryIt(event) {
  event.preventDefault();
  const text = $("utterance").value.trim();
  if (!text) return;
  try {
    const result = await call("POST", "/versions/" + (state.draft || state.live) + "/try", { text });
    showMatch($("try-draft"), result.draft);
    showMatch($("try-live"), result.live);
  } catch (error) {
    say(error.message, "error");
  }
}

async function move(action, body) {
  try {
    const result = await call("POST", "/" + action, body);
    say((action === "publish" ? "已发布，线上版本：" : "已回滚，线上版本：") + short(result.live), "good");
    state.draft = null;
    $("draft").textContent = "（还没有）";
    $("publish").disabled = true;
    await load();
  } catch (error) {
    const why = error.status === 403 && error.data.reason && error.data.reason.includes("two-person")
      ? "按双人复核规则，不能发布自己编辑的草稿，请另一位发布人发布。" : error.message;
    say(why, "error");
  }
}

async function signIn(event) {
  if (event) event.preventDefault();
  const typed = $("token").value.trim();
  if (typed) sessionStorage.setItem("studioToken", typed);
  $("token").value = "";
  if (!token()) return;
  try {
    await load();
    $("sign-in").hidden = true;
    $("studio").hidden = false;
    $("sign-out").hidden = false;
  } catch (error) {
    sessionStorage.removeItem("studioToken");
    $("sign-in-error").textContent = error.status === 401 ? "令牌无效或已过期。" :
      error.status === 403 ? "这个账号没有工作室的岗位（editor 或 publisher）。" : error.message;
  }
}

$("sign-in").addEventListener("submit", signIn);
$("sign-out").addEventListener("click", () => { sessionStorage.removeItem("studioToken"); location.reload(); });
$("search").addEventListener("input", showItems);
$("save").addEventListener("click", save);
$("try-form").addEventListener("submit", tryIt);
$("publish").addEventListener("click", () => move("publish", { version: state.draft }));
$("rollback").addEventListener("click", () => move("rollback"));
signIn();
