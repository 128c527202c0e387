// The intent studio page: sign in with a staff token (kept in sessionStorage, never in a URL), browse the live
// version's items, edit one item's YAML into a draft (checked by the server), try an utterance on the draft beside
// the live version, publish, roll back, and read the history with diffs; import a 实施清单 CSV/XLSX into a draft
// (with the row report) and read a draft's 对比报告 against the live version. An item (its aliases, situations, FAQ
// and steps) and the prompts are edited in forms (studio-forms.js), YAML being the advanced mode; every change is
// checked by /validate about 500 ms after typing stops, findings shown beside their field, and errors block saving.
// Talks only to /api/v1/studio/.
"use strict";

const API = "/api/v1/studio";
const $ = (id) => document.getElementById(id);
const PROMPTS = "scripts/prompts.yaml";
const CHECK_DELAY_MS = 500;
const state = { live: null, files: {}, items: [], item: null, draft: null, mode: "form", form: null, checked: null,
                timer: null, checking: null, yamlEdited: false };

function token() { return sessionStorage.getItem("studioToken") || ""; }

async function call(method, path, body, signal) {
  return send(path, {
    method, signal, headers: { "Authorization": "Bearer " + token(), ...(body ? { "Content-Type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
}

async function upload(path, form) {
  return send(path, { method: "POST", headers: { "Authorization": "Bearer " + token() }, body: form });
}

async function send(path, init) {
  const response = await fetch(API + path, init);
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = new Error(data.detail || ("请求失败（" + response.status + "）"));
    error.status = response.status;
    error.data = data;
    throw error;
  }
  return data;
}

function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className) node.className = className;
  return node;
}

function table(headers, rows) {
  const t = el("table");
  const head = el("tr");
  for (const h of headers) head.append(el("th", h));
  t.append(el("thead"));
  t.tHead.append(head);
  const body = el("tbody");
  for (const cells of rows) {
    const tr = el("tr");
    for (const cell of cells) {
      const td = el("td");
      td.append(cell instanceof Node ? cell : String(cell));
      tr.append(td);
    }
    body.append(tr);
  }
  t.append(body);
  return t;
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
  state.form = null;
  state.checked = null;
  state.yamlEdited = false;
  $("form").replaceChildren();
  $("checks").replaceChildren();
  showItems();
  showMode();
  loadForm();
}

function formUsable() { return state.item && (!state.item.whole || state.item.path === PROMPTS); }

function showMode() {
  const form = state.mode === "form" && formUsable();
  $("form").hidden = !form;
  $("editor").hidden = form;
  $("form-mode").setAttribute("aria-pressed", String(state.mode === "form"));
  $("yaml-mode").setAttribute("aria-pressed", String(state.mode === "yaml"));
  if (state.item && !formUsable()) $("validity").textContent = "这个文件只能用 YAML 编辑。";
}

// The form's values, read through /validate (which also checks them as they are).
async function loadForm() {
  const item = state.item;
  if (!formUsable()) return;
  const body = item.whole ? { base: state.live, prompts: {} } : { base: state.live, item: item.code };
  $("validity").textContent = "正在读取……";
  try {
    const result = await call("POST", "/validate", body);
    if (state.item !== item) return;
    state.form = item.whole ? { prompts: result.prompts } : { item: result.item };
    drawForm();
    showValidation(result);
  } catch (error) {
    $("validity").textContent = error.message;
  }
}

function drawForm() {
  if (state.form.item) renderItemForm($("form"), state.form.item, changed);
  else renderPromptsForm($("form"), state.form.prompts, changed);
}

function changed() {
  clearTimeout(state.timer);
  state.timer = setTimeout(checkNow, CHECK_DELAY_MS);
  $("validity").textContent = "正在检查……";
  $("save").disabled = true;
}

// The item's YAML spliced into its whole file (the YAML mode's edit).
function editedFile() {
  const item = state.item;
  const lines = state.files[item.path].split("\n");
  if (item.whole) lines.splice(0, lines.length, ...$("editor").value.split("\n"));
  else lines.splice(item.start, item.end - item.start, ...$("editor").value.replace(/\n+$/, "").split("\n"));
  return lines.join("\n");
}

function checkBody() {
  const base = state.live;
  if (state.mode === "yaml" || !formUsable()) return { base, path: state.item.path, text: editedFile() };
  if (state.form.prompts) return { base, prompts: state.form.prompts };
  const v = state.form.item;
  const fields = { aliases: v.aliases.filter(Boolean), situations: v.situations.filter(Boolean) };
  if (v.script) Object.assign(fields, { faq: v.faq, steps: v.steps });
  return { base, item: v.code, fields };
}

// Checks the current edit now (a newer check cancels an older one still running); the result, or null if cancelled.
async function checkNow() {
  clearTimeout(state.timer);
  if (!state.item || (state.mode === "form" && formUsable() && !state.form)) return null;
  if (state.checking) state.checking.abort();
  const mine = state.checking = new AbortController();
  $("validity").textContent = "正在检查……";
  try {
    const result = await call("POST", "/validate", checkBody(), mine.signal);
    if (state.checking !== mine) return null;
    showValidation(result);
    return result;
  } catch (error) {
    if (error.name === "AbortError") return null;
    $("validity").textContent = error.message;
    $("checks").replaceChildren(el("p", error.message + (error.data && error.data.errors ? "：" +
      error.data.errors.map((e) => e.msg || e.message || "").join("；") : ""), "bad"));
    return null;
  }
}

function showValidation(result) {
  state.checked = result;
  const tagged = [...result.errors.map((f) => ({ ...f, severity: "error" })),
                  ...result.warnings.map((f) => ({ ...f, severity: "warning" }))];
  const rest = state.mode === "form" && formUsable() ? showFieldFindings($("form"), tagged) : tagged;
  const box = $("checks");
  box.replaceChildren();
  if (rest.length) {
    const ul = el("ul");
    for (const f of rest) ul.append(el("li", f.where + " " + findingText(f), f.severity === "error" ? "bad" : ""));
    box.append(ul);
  }
  $("validity").textContent = result.passed ? (result.warnings.length ? "可以保存（有 " + result.warnings.length +
    " 条提醒）。" : "检查通过，可以保存。") : "有 " + result.errors.length + " 个错误，改好后才能保存。";
  $("validity").className = result.passed ? "good" : "bad";
  $("save").disabled = !result.passed;
}

function toForm() {
  if (state.yamlEdited) { say("YAML 有未保存的改动，请先保存为草稿，再切回表单。", "error"); return; }
  state.mode = "form";
  showMode();
  if (!formUsable()) return;
  if (!state.form) { loadForm(); return; }
  drawForm();
  checkNow();
}

function toYaml() {
  state.mode = "yaml";
  const item = state.item;
  const edited = state.checked && item && state.checked.files[item.path];
  if (edited) {  // the form's edit of this file carries over
    const again = item.whole ? null : itemsOf({ [item.path]: edited }).find((i) => i.code === item.code);
    $("editor").value = again ? edited.split("\n").slice(again.start, again.end).join("\n") : edited;
  }
  showMode();
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
    if (v.id !== live) action("对比报告", () => showReport(v.id));
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
  const checked = await checkNow();
  if (!checked) return;
  if (!checked.passed) { say("还有错误，改好后才能保存。", "error"); return; }
  if (!Object.keys(checked.files).length || Object.entries(checked.files).every(([p, t]) => state.files[p] === t)) {
    say("没有改动，不用保存。");
    return;
  }
  const message = $("message").value.trim() || ("修改「" + item.name + "」");
  say("正在保存并检查……");
  try {
    const result = await call("POST", "/versions", { base: state.live, files: checked.files, message });
    state.yamlEdited = false;
    await drafted(result);
    say(result.checks.passed ? "草稿已保存。" : "草稿已保存，但检查未通过。", result.checks.passed ? "good" : "error");
  } catch (error) {
    say(error.message + (error.data && error.data.reason ? "（" + error.data.reason + "）" : ""), "error");
  }
}

async function drafted(result) {
  state.draft = result.version.id;
  $("draft").textContent = short(state.draft);
  $("publish").disabled = !result.checks.passed;
  $("report").disabled = false;
  showChecks(result.checks);
  await refreshHistory();
}

function showRows(rows) {
  const box = $("import-rows");
  box.replaceChildren(el("p", "接受 " + rows.accepted.length + " 条，拒绝 " + rows.rejected.length + " 条，警告 "
                               + rows.warnings.length + " 条。", rows.rejected.length ? "bad" : "good"));
  if (rows.rejected.length) {
    box.append(el("h3", "拒绝的行"), table(["行", "列", "原因"], rows.rejected.map((r) => [r.row, r.column, r.reason])));
  }
  if (rows.warnings.length) {
    const ul = el("ul");
    for (const w of rows.warnings) ul.append(el("li", w));
    box.append(el("h3", "警告"), ul);
  }
  if (rows.accepted.length) {
    box.append(el("h3", "导入的事项"), table(["编码", "名称"], rows.accepted.map((r) => [r.code, r.name])));
  }
}

async function importFile(event) {
  event.preventDefault();
  const file = $("import-file").files[0];
  if (!file) { say("请先选择实施清单文件。", "error"); return; }
  const form = new FormData();
  form.append("message", $("import-message").value.trim() || ("导入实施清单 " + file.name));
  form.append("file", file);
  say("正在导入并检查……");
  try {
    const result = await upload("/import", form);
    showRows(result.rows);
    await drafted(result);
    say("已导入为草稿" + (result.checks.passed ? "。" : "，但检查未通过。"), result.checks.passed ? "good" : "error");
  } catch (error) {
    if (error.data && error.data.rows) showRows(error.data.rows);
    say(error.message + (error.data && error.data.reason ? "（" + error.data.reason + "）" : ""), "error");
  }
}

function percent(x) { return (x * 100).toFixed(1) + "%"; }

function shift(before, after) {
  return el("span", percent(before) + " → " + percent(after), after > before ? "up" : after < before ? "down" : "");
}

async function showReport(version) {
  say("正在生成对比报告……");
  try {
    const r = await call("GET", "/versions/" + version + "/report");
    $("report-version").textContent = short(version);
    const box = $("report-body");
    box.replaceChildren();
    box.append(table(["指标", "线上", "草稿"], [
      ["准确率", percent(r.live.accuracy), shift(r.live.accuracy, r.draft.accuracy)],
      ["没找到比例", percent(r.live.none_rate), percent(r.draft.none_rate)],
      ["反问比例", percent(r.live.clarify_rate), percent(r.draft.clarify_rate)],
      ["测试说法", r.live.rows, r.draft.rows]]));
    box.append(el("h3", "回答变了的说法（" + r.changed.length + " 条）"));
    box.append(r.changed.length ? table(["说法", "线上", "草稿"], r.changed.map((c) => [c.text, c.before, c.after]))
                                : el("p", "没有说法的回答发生变化。", "weak"));
    box.append(el("h3", "指标有变化的事项（" + r.items.length + " 个）"));
    if (r.items.length) {
      box.append(table(["事项", "召回率", "精确率"], r.items.map((i) => [
        i.item, shift(i.live_recall, i.recall), shift(i.live_precision, i.precision)])));
    }
    box.append(el("h3", "最常混淆（应为 → 实际）"));
    box.append(r.confused.length ? table(["应为", "实际", "次数"], r.confused.map((c) => [c.expected, c.got, c.count]))
                                 : el("p", "没有混淆。", "weak"));
    const chart = el("img", undefined, "chart");
    chart.alt = "混淆图";
    chart.src = "data:image/svg+xml;charset=utf-8," + encodeURIComponent(r.chart);
    box.append(el("h3", "混淆图"), chart);
    $("report-card").hidden = false;
    $("report-card").scrollIntoView();
    say("对比报告已生成。", "good");
  } catch (error) {
    say(error.message, "error");
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
    $("report").disabled = true;
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
$("editor").addEventListener("input", () => { state.yamlEdited = true; changed(); });
$("form-mode").addEventListener("click", toForm);
$("yaml-mode").addEventListener("click", toYaml);
$("try-form").addEventListener("submit", tryIt);
$("publish").addEventListener("click", () => move("publish", { version: state.draft }));
$("rollback").addEventListener("click", () => move("rollback"));
$("import-form").addEventListener("submit", importFile);
$("report").addEventListener("click", () => showReport(state.draft));
signIn();
