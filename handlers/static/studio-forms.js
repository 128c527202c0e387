// The studio's form editors (loaded before studio.js): one item's aliases, situations, FAQ and steps, or every
// prompt's text, as labelled inputs. Each change updates `values` in place and calls `changed()`; findings from
// /api/v1/studio/validate are shown beside the input whose `data-field` they name (e.g. aliases[2]).
"use strict";

const STEP_KINDS = { field: "填写项", material: "材料" };

function formEl(tag, attrs, text) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

function words(text) { return text.split(/[、,，;；\s]+/).filter(Boolean); }

let formIds = 0;

// One labelled input (or textarea) with its finding line; `set` receives the new value on every keystroke.
function labelled(label, value, set, field, options) {
  const id = "form-" + (formIds += 1);
  const wrap = formEl("div", { class: options && options.inline ? "field inline" : "field" });
  const input = formEl(options && options.long ? "textarea" : "input", { id, "data-field": field || "" });
  if (options && options.long) input.rows = 2; else input.type = "text";
  input.value = value || "";
  input.addEventListener("input", () => set(input.value));
  const finding = formEl("p", { class: "finding", id: id + "-finding", "data-finding": field || "" });
  input.setAttribute("aria-describedby", finding.id);
  wrap.append(formEl("label", { for: id }, label), input, finding);
  return wrap;
}

function button(text, run, label) {
  const b = formEl("button", { type: "button", class: "small" }, text);
  if (label) b.setAttribute("aria-label", label);
  b.addEventListener("click", run);
  return b;
}

// A fieldset of rows over `list` with an add button; `row(entry, index)` builds one row's inputs.
function listSet(title, list, row, blank, redraw, changed) {
  const set = formEl("fieldset", { class: "list" });
  set.append(formEl("legend", {}, title + "（" + list.length + "）"));
  list.forEach((entry, i) => {
    const line = formEl("div", { class: "row-entry" });
    line.append(...row(entry, i), button("删除", () => { list.splice(i, 1); redraw(); changed(); },
                                          "删除" + title + " " + (i + 1)));
    set.append(line);
  });
  set.append(button("添加" + title, () => { list.push(blank()); redraw(); changed(); }));
  return set;
}

function stepKind(step) { return step.kind === "material" ? "material" : "field"; }

function stepRow(step, i, changed) {
  const kind = formEl("select", { id: "form-" + (formIds += 1) });
  for (const [value, text] of Object.entries(STEP_KINDS)) kind.append(new Option(text, value));
  kind.value = stepKind(step);
  const key = () => (stepKind(step) === "material" ? step.material : step.field);
  kind.addEventListener("change", () => {
    const name = key();
    delete step.field; delete step.material; delete step.kind;
    if (kind.value === "material") { step.kind = "material"; step.material = name; } else step.field = name;
    changed();
  });
  const setOr = (name, value) => { if (value) step[name] = value; else delete step[name]; changed(); };
  const required = formEl("input", { type: "checkbox", id: "form-" + (formIds += 1) });
  required.checked = !step.optional;
  required.addEventListener("change", () => { if (required.checked) delete step.optional; else step.optional = true;
                                              changed(); });
  const box = formEl("span", { class: "check" });
  box.append(required, formEl("label", { for: required.id }, "必填"));
  return [
    formEl("label", { for: kind.id }, "步骤 " + (i + 1) + " 类型"), kind,
    labelled("编号（字段库或材料的 key）", key(), (v) => {
      if (stepKind(step) === "material") step.material = v.trim(); else step.field = v.trim();
      changed();
    }, "steps[" + i + "]"),
    labelled("名称", step.label, (v) => setOr("label", v.trim())),
    labelled("提问", step.prompt, (v) => setOr("prompt", v.trim()), undefined, { long: true }),
    labelled("选项（用顿号分隔）", (step.options || []).join("、"), (v) => setOr("options", words(v).length ? words(v) : null)),
    box,
  ];
}

// The item form: `values` is the item as /validate returns it (code, name, aliases, situations, faq, steps, script).
function renderItemForm(box, values, changed) {
  const redraw = () => renderItemForm(box, values, changed);
  box.replaceChildren();
  const text = (title, key) => listSet(title, values[key], (entry, i) => [
    labelled(title + " " + (i + 1), entry, (v) => { values[key][i] = v.trim(); changed(); }, key + "[" + i + "]",
             { inline: true })],
  () => "", redraw, changed);
  box.append(text("别名", "aliases"), text("情形", "situations"));
  if (!values.script) {
    box.append(formEl("p", { class: "weak" }, "这个事项没有对话脚本，常见问题和办理步骤请在脚本文件中添加。"));
    return;
  }
  box.append(listSet("常见问题", values.faq, (entry, i) => [
    labelled("问题 " + (i + 1) + " 的关键词（用顿号分隔）", entry.ask.join("、"),
             (v) => { entry.ask = words(v); changed(); }, "faq[" + i + "]"),
    labelled("回答", entry.answer, (v) => { entry.answer = v.trim(); changed(); }, undefined, { long: true })],
  () => ({ ask: [], answer: "" }), redraw, changed));
  box.append(listSet("办理步骤", values.steps, (step, i) => stepRow(step, i, changed), () => ({ field: "" }),
                     redraw, changed));
}

// The prompts form: every prompt's text by key.
function renderPromptsForm(box, prompts, changed) {
  box.replaceChildren();
  const set = formEl("fieldset", { class: "list" });
  set.append(formEl("legend", {}, "提示语（" + Object.keys(prompts).length + "）"));
  for (const key of Object.keys(prompts)) {
    set.append(labelled(key, prompts[key], (v) => { prompts[key] = v; changed(); }, "prompts." + key, { long: true }));
  }
  box.append(set);
}

// What each check (bot/quality/checks.py) means, for the line beside a field; the check's own detail follows.
const CHECK_WORDS = {
  "invalid": "文件读不进来", "script": "脚本引用不存在的事项、字段或材料", "consistency": "事项信息与对话不一致",
  "punctuation": "标点不对（中文里不用英文引号、问号、逗号，也不要重复标点）", "unknown-button": "提到的按钮不存在",
  "unknown-command-word": "提到的回复词没有对应命令", "command-unread": "命令词不会被识别",
  "duplicate-phrase": "和其他事项的别名或简称重复", "duplicate-synonym": "同义词重复",
  "phrase-misrouted": "这个说法会匹配到别的事项", "phrase-ambiguous": "这个说法会被反问", "unreachable-step": "步骤重复，问不到",
  "prompt-placeholder": "提示语里有程序不认识的占位符", "prompt-unused": "提示语没有被用到",
};

function findingText(f) {
  return (f.severity === "warning" ? "提醒：" : "错误：") + (CHECK_WORDS[f.code] || f.code) + "。" + f.message;
}

// Findings beside their inputs (errors first); returns those that name no input shown (listed under the form).
function showFieldFindings(box, findings) {
  for (const p of box.querySelectorAll("[data-finding]")) { p.replaceChildren(); p.className = "finding"; }
  for (const input of box.querySelectorAll("[data-field]")) input.removeAttribute("aria-invalid");
  const rest = [];
  for (const f of findings) {
    const where = f.field && box.querySelector('[data-finding="' + CSS.escape(f.field) + '"]');
    if (!where) { rest.push(f); continue; }
    where.append(formEl("span", { class: f.severity === "warning" ? "warn" : "bad" }, findingText(f)));
    if (f.severity !== "warning") {
      where.className = "finding has-error";
      box.querySelector('[data-field="' + CSS.escape(f.field) + '"]').setAttribute("aria-invalid", "true");
    }
  }
  return rest;
}
