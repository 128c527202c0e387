// The studio's unmatched inbox: what citizens said that the bot could not place (masked by the server), grouped,
// with one click to add a group's words to an item (alias or situation) or mark them out of scope. Each proposal goes
// into the draft on screen (or a new one from the live version); the server checks and tests it at once, and the
// draft's checks show in the editor card. Uses studio.js's call, state, drafted, el, say, short and when.
"use strict";

const KINDS = {
  miss: "没找到", abandoned_clarify: "反问后改说别的", unanswered_clarify: "反问后没回答",
  none_of_these: "选了“都不是”", handoff: "没找到后转人工",
};
const ACTIONS = [["alias", "加为别名"], ["situation", "加为情形"], ["out_of_scope", "不属于政务服务"]];

function itemChoices() {
  const list = $("inbox-items");
  list.replaceChildren(...state.items.filter((i) => !i.whole).map((i) => {
    const option = document.createElement("option");
    option.value = i.name + " · " + i.code;
    return option;
  }));
}

function chosenCode(input) {
  const typed = input.value.trim();
  const item = state.items.find((i) => !i.whole && (i.name + " · " + i.code === typed || i.code === typed
                                                      || i.name === typed));
  return item ? item.code : null;
}

async function propose(group, action, input) {
  const body = { group_id: group.id, action };
  if (action !== "out_of_scope") {
    body.item_key = chosenCode(input);
    if (!body.item_key) { say("请先为「" + group.text + "」选一个事项。", "error"); input.focus(); return; }
  }
  if (state.draft) body.draft = state.draft;
  say("正在写入草稿并检查……");
  try {
    const result = await call("POST", "/unmatched/proposals", body);
    await drafted({ version: { id: result.draft }, checks: result.checks });
    say(result.checks.passed ? "已写入草稿，检查和回归测试通过。" : "已写入草稿，但检查未通过，见编辑区。",
        result.checks.passed ? "good" : "error");
    await showInbox();
  } catch (error) {
    say(error.message + (error.data && error.data.reason ? "（" + error.data.reason + "）" : ""), "error");
  }
}

function groupCard(group, index) {
  const card = el("li", undefined, "group");
  const kinds = Object.entries(group.kinds).map(([k, n]) => (KINDS[k] || k) + " " + n).join("，");
  card.append(el("strong", group.text),
              el("div", "共 " + group.count + " 次（" + kinds + "），" + when(group.first_seen) + " 至 "
                        + when(group.last_seen), "weak"));
  if (group.examples.length > 1) card.append(el("div", "例：" + group.examples.slice(1).join(" / "), "weak"));
  if (group.status === "proposed") {
    card.append(el("div", "已提议，草稿 " + short(String(group.proposal.draft || "")), "good"));
  }
  const input = el("input");
  input.type = "text";
  input.setAttribute("list", "inbox-items");
  input.placeholder = "选事项（名称或编码）";
  input.id = "inbox-item-" + index;
  input.setAttribute("aria-label", "「" + group.text + "」对应的事项");
  const actions = el("div", undefined, "row wrap");
  actions.append(input);
  for (const [action, label] of ACTIONS) {
    const button = el("button", label);
    button.type = "button";
    button.addEventListener("click", () => propose(group, action, input));
    actions.append(button);
  }
  card.append(actions);
  return card;
}

async function showInbox() {
  const box = $("inbox");
  try {
    const { groups } = await call("GET", "/unmatched?days=" + $("inbox-days").value + "&limit=50");
    itemChoices();
    const list = el("ul", undefined, "groups");
    list.append(...groups.map(groupCard));
    box.replaceChildren(groups.length ? list : el("p", "这段时间没有没听懂的话。", "good"));
  } catch (error) {
    box.replaceChildren(el("p", error.message, "bad"));
  }
}

$("inbox-refresh").addEventListener("click", showInbox);
$("inbox-days").addEventListener("change", showInbox);
new MutationObserver(() => { if (!$("studio").hidden) showInbox(); })
  .observe($("studio"), { attributes: true, attributeFilter: ["hidden"] });
