/* 人工帮办 page of the staff console: the department's queue, one chat with its context card, canned answers,
 * notes, transfer, close. The staff token is kept in sessionStorage and sent as a header (never in a URL); the
 * live channel gets it as its first frame. Plain ES2017; server text only ever set through textContent. */
(function () {
  "use strict";

  var TOKEN_KEY = "zwb_staff_token";
  var API = "/api/v1/staff/handoffs";
  var $ = function (id) { return document.getElementById(id); };
  var state = { token: null, me: null, current: null, chat: null, socket: null, retryMs: 1000 };

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function minutes(seconds) {
    return seconds < 60 ? seconds + " 秒" : Math.floor(seconds / 60) + " 分钟";
  }

  async function api(method, path, body) {
    var init = { method: method, headers: { "Authorization": "Bearer " + state.token, "Accept": "application/json" } };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    var res = await fetch(path, init);
    var data = null;
    try { data = await res.json(); } catch (e) { data = null; }
    if (res.status === 401) { signOut(); throw new Error("请重新登录。"); }
    if (!res.ok) throw new Error((data && data.detail) || "操作没有成功，请稍后再试。");
    return data;
  }

  // ------------------------------------------------------------------ sign in

  function showSignIn() {
    $("sign-in").hidden = false;
    $("desk").hidden = true;
    $("sign-out").hidden = true;
  }

  async function signIn(token) {
    state.token = token;
    try {
      await refreshQueues();
    } catch (e) {
      state.token = null;
      $("sign-in-error").textContent = e.message;
      return;
    }
    try { window.sessionStorage.setItem(TOKEN_KEY, token); } catch (e) { /* this tab only */ }
    $("sign-in").hidden = true;
    $("desk").hidden = false;
    $("sign-out").hidden = false;
    connect();
  }

  function signOut() {
    try { window.sessionStorage.removeItem(TOKEN_KEY); } catch (e) { /* nothing kept */ }
    state.token = null;
    if (state.socket) state.socket.close();
    showSignIn();
  }

  // ------------------------------------------------------------------ queues

  function item(chat) {
    var li = el("li");
    li.dataset.id = chat.id;
    if (chat.breaches && chat.breaches.length) li.classList.add("breach");
    if (chat.id === state.current) li.classList.add("current");
    li.appendChild(el("span", "what", (chat.item || "一般咨询") + " · " + chat.reference));
    var wait = chat.status === "callback" ? "回电期限 " + chat.callback_due : "已等 " + minutes(chat.waiting_seconds);
    li.appendChild(el("span", "wait", wait));
    li.addEventListener("click", function () { openChat(chat.id); });
    return li;
  }

  async function refreshQueues() {
    var data = await api("GET", API + "?status=waiting,active,callback");
    var lists = { waiting: $("waiting"), mine: $("mine"), callbacks: $("callbacks") };
    Object.keys(lists).forEach(function (k) { lists[k].textContent = ""; });
    data.items.forEach(function (chat) {
      if (chat.status === "waiting") lists.waiting.appendChild(item(chat));
      else if (chat.status === "callback") lists.callbacks.appendChild(item(chat));
      else if (chat.owner_id === state.me) lists.mine.appendChild(item(chat));
    });
    $("online").textContent = "本部门在线同事：" + (data.online || []).length + " 人";
  }

  // ------------------------------------------------------------------ one chat

  function addMessage(m) {
    var li = el("li", m.author, m.text);
    li.dataset.id = m.id;
    $("messages").appendChild(li);
    $("messages").scrollTop = $("messages").scrollHeight;
  }

  function showCard(chat) {
    var dl = $("context");
    dl.textContent = "";
    var c = chat.context;
    var rows = [["事项", c.target_name || "（未选事项）"], ["进行到", c.step || c.stage]];
    Object.keys(c.fields || {}).forEach(function (k) { rows.push([(c.labels || {})[k] || k, c.fields[k]]); });
    if (c.materials && c.materials.length) rows.push(["已交材料", c.materials.join("、")]);
    (c.last_turns || []).forEach(function (t) { rows.push(["小助手", t]); });
    rows.forEach(function (r) { dl.appendChild(el("dt", null, r[0])); dl.appendChild(el("dd", null, r[1])); });
    var canned = $("canned");
    canned.textContent = "";
    (chat.canned || []).forEach(function (a) {
      var li = el("li");
      var b = el("button", null, a.title);
      b.type = "button";
      b.addEventListener("click", function () { $("reply-text").value = a.text; $("reply-text").focus(); });
      li.appendChild(b);
      canned.appendChild(li);
    });
  }

  async function openChat(id) {
    $("chat-error").textContent = "";
    var chat = await api("GET", API + "/" + id);
    state.current = id;
    state.chat = chat;
    $("desk").classList.add("open");
    $("chat").hidden = false;
    $("card").hidden = false;
    $("chat-title").textContent = (chat.item || "一般咨询") + " · " + chat.reference;
    $("chat-sla").textContent = chat.breaches.length ? "已超时：" + chat.breaches.join("、") : "";
    $("messages").textContent = "";
    chat.messages.forEach(addMessage);
    var mine = chat.status === "active" && chat.owner_id === state.me;
    $("claim").hidden = chat.status !== "waiting";
    ["reply", "close"].forEach(function (f) { $(f).hidden = !mine; });
    $("transfer").closest("details").hidden = !mine;
    if (chat.status === "callback") $("close").hidden = false;
    showCard(chat);
    refreshQueues().catch(function () { /* the list refreshes on the next event */ });
  }

  function guarded(action) {
    return function (event) {
      if (event) event.preventDefault();
      $("chat-error").textContent = "";
      action().catch(function (e) { $("chat-error").textContent = e.message; });
    };
  }

  $("claim").addEventListener("click", guarded(async function () {
    await api("POST", API + "/" + state.current + "/claim");
    await openChat(state.current);
  }));

  $("reply").addEventListener("submit", guarded(async function () {
    var text = $("reply-text").value.trim();
    if (!text) return;
    await api("POST", API + "/" + state.current + "/messages", { text: text });
    $("reply-text").value = "";  // the message comes back over the live channel
  }));

  $("note").addEventListener("submit", guarded(async function () {
    var text = $("note-text").value.trim();
    if (!text) return;
    addMessage(await api("POST", API + "/" + state.current + "/notes", { text: text }));
    $("note-text").value = "";
  }));

  $("transfer").addEventListener("submit", guarded(async function () {
    var body = { note: $("transfer-note").value.trim() };
    var staff = $("transfer-staff").value.trim();
    if (staff) body.staff = parseInt(staff, 10); else body.department = $("transfer-department").value.trim();
    await api("POST", API + "/" + state.current + "/transfer", body);
    await openChat(state.current);
  }));

  $("close").addEventListener("submit", guarded(async function () {
    await api("POST", API + "/" + state.current + "/close", { summary: $("close-summary").value.trim() });
    $("close-summary").value = "";
    await openChat(state.current);
  }));

  $("reveal").addEventListener("click", guarded(async function () {
    var reason = window.prompt("查看完整个人信息需要说明理由（会记录在案）：");
    if (!reason || reason.trim().length < 2) return;
    var data = await api("POST", API + "/" + state.current + "/reveal", { reason: reason.trim() });
    state.chat.context.fields = data.fields;
    showCard(state.chat);
  }));

  $("back").addEventListener("click", function () {
    $("desk").classList.remove("open");
    $("chat").hidden = true;
    $("card").hidden = true;
    state.current = null;
  });

  // ------------------------------------------------------------------ live channel

  function onEvent(event) {
    if (event.kind === "ready") {
      state.me = event.staff;
      $("who").textContent = event.name || "";
      state.retryMs = 1000;
      refreshQueues().catch(function () { /* shown on the next event */ });
    } else if (event.kind === "message" && event.handoff === state.current) {
      var shown = $("messages").querySelector('[data-id="' + event.id + '"]');
      if (!shown) addMessage(event);
    } else if (event.kind === "queue" && event.handoff === state.current) {
      openChat(state.current).catch(function () { /* shown on the next event */ });
    } else if (event.kind === "queue" || event.kind === "message") {
      refreshQueues().catch(function () { /* shown on the next event */ });
    }
  }

  function connect() {
    if (!state.token || typeof window.WebSocket !== "function") return;
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    var socket = new window.WebSocket(scheme + window.location.host + "/api/v1/staff/live");
    state.socket = socket;
    socket.onopen = function () { socket.send(JSON.stringify({ token: state.token })); };
    socket.onmessage = function (frame) {
      try { onEvent(JSON.parse(frame.data)); } catch (e) { /* not an event */ }
    };
    socket.onclose = function () {
      if (!state.token || state.socket !== socket) return;
      window.setTimeout(connect, state.retryMs);
      state.retryMs = Math.min(30000, state.retryMs * 2);
    };
  }

  $("sign-in").addEventListener("submit", function (event) {
    event.preventDefault();
    $("sign-in-error").textContent = "";
    signIn($("token").value.trim());
  });
  $("sign-out").addEventListener("click", signOut);

  var kept = null;
  try { kept = window.sessionStorage.getItem(TOKEN_KEY); } catch (e) { /* none */ }
  if (kept) signIn(kept); else showSignIn();
})();
