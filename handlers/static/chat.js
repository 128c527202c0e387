/* H5 chat page of zhengwu-bot: talks to POST /api/v1/chat/messages and renders typed replies.
 * Plain ES2017, no framework. Server text is only ever set through textContent. */
(function () {
  "use strict";

  var API_URL = "/api/v1/chat/messages";
  var USER_KEY = "zwb_user";
  var ELDER_KEY = "zwb_elder_mode";
  var SEARCH_FROM = 9;  // option lists this long get a search box
  var TEXT_TIMEOUT_MS = 30000;
  var UPLOAD_TIMEOUT_MS = 120000;
  var RETRY_AFTER_MS = 1000;
  var DEFAULT_PLACEHOLDER = "请输入您要办的事";

  var TYPE_NAMES = {
    "image/jpeg": "JPG", "image/jpg": "JPG", ".jpg": "JPG", ".jpeg": "JPG",
    "image/png": "PNG", ".png": "PNG",
    "application/pdf": "PDF", ".pdf": "PDF",
    "image/*": "照片"
  };

  var messages = document.getElementById("messages");
  var composer = document.getElementById("composer");
  var input = document.getElementById("input");
  var sendButton = document.getElementById("send");
  var fileInput = document.getElementById("file-input");
  var elderToggle = document.getElementById("elder-toggle");

  var state = {
    user: resolveUser(),
    busy: false,
    material: null,   // the material_step currently asked for
    typingRow: null,
    moreLists: 0      // 「查看更多」 lists so far (their ids)
  };

  // ---------------------------------------------------------------- user id

  function randomId() {
    var c = window.crypto;
    if (c && typeof c.randomUUID === "function") {
      try { return c.randomUUID(); } catch (e) { /* insecure context: fall through */ }
    }
    var bytes = new Uint8Array(16);
    if (c && typeof c.getRandomValues === "function") {
      c.getRandomValues(bytes);
    } else {
      for (var i = 0; i < bytes.length; i++) bytes[i] = Math.floor(Math.random() * 256);
    }
    var hex = "";
    for (var j = 0; j < bytes.length; j++) hex += (bytes[j] + 256).toString(16).slice(1);
    return "h5-" + hex;
  }

  function resolveUser() {
    var fromUrl = null;
    try { fromUrl = new URLSearchParams(window.location.search).get("user"); } catch (e) { /* old browser */ }
    if (fromUrl && fromUrl.trim()) return fromUrl.trim();
    var stored = null;
    try { stored = window.localStorage.getItem(USER_KEY); } catch (e) { /* storage blocked */ }
    if (stored) return stored;
    var id = randomId();
    try { window.localStorage.setItem(USER_KEY, id); } catch (e) { /* keep for this page only */ }
    return id;
  }

  // ---------------------------------------------------------------- DOM helpers

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function scrollToBottom() {
    window.requestAnimationFrame(function () {
      messages.scrollTop = messages.scrollHeight;
    });
  }

  function appendRow(row) {
    if (state.typingRow && state.typingRow.parentNode === messages) {
      messages.insertBefore(row, state.typingRow);
    } else {
      messages.appendChild(row);
    }
    scrollToBottom();
    return row;
  }

  function botRow(bubble) {
    var row = el("div", "row bot");
    var avatar = el("div", "avatar", "政");
    avatar.setAttribute("aria-hidden", "true");
    row.appendChild(avatar);
    row.appendChild(bubble);
    return appendRow(row);
  }

  function botBubble(extraClass) {
    var bubble = el("div", "msg bot" + (extraClass ? " " + extraClass : ""));
    bubble.setAttribute("data-testid", "msg-bot");
    return bubble;
  }

  function addBotText(text, isError) {
    var bubble = botBubble(isError ? "error" : "");
    bubble.appendChild(el("div", "msg-text", text));
    botRow(bubble);
    return bubble;
  }

  function addUserText(text) {
    var row = el("div", "row user");
    var bubble = el("div", "msg user", text);
    bubble.setAttribute("data-testid", "msg-user");
    row.appendChild(bubble);
    return appendRow(row);
  }

  function svgIcon(paths, size) {
    var ns = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("width", String(size));
    svg.setAttribute("height", String(size));
    svg.setAttribute("fill", "none");
    svg.setAttribute("stroke", "currentColor");
    svg.setAttribute("stroke-width", "2");
    svg.setAttribute("stroke-linecap", "round");
    svg.setAttribute("stroke-linejoin", "round");
    svg.setAttribute("aria-hidden", "true");
    paths.forEach(function (d) {
      var p = document.createElementNS(ns, "path");
      p.setAttribute("d", d);
      svg.appendChild(p);
    });
    return svg;
  }

  var ICON_FILE = ["M14 3H7a2 2 0 0 0-2 2v14a2 2 0 0 0 2 2h10a2 2 0 0 0 2-2V8z", "M14 3v5h5"];
  var ICON_CAMERA = [
    "M4 8h3l2-3h6l2 3h3a1 1 0 0 1 1 1v10a1 1 0 0 1-1 1H4a1 1 0 0 1-1-1V9a1 1 0 0 1 1-1z",
    "M12 17a4 4 0 1 0 0-8 4 4 0 0 0 0 8z"
  ];

  function addUserFile(name) {
    var row = el("div", "row user");
    var bubble = el("div", "msg user file");
    bubble.setAttribute("data-testid", "msg-user");
    bubble.appendChild(svgIcon(ICON_FILE, 18));
    bubble.appendChild(el("span", "", name));
    row.appendChild(bubble);
    return appendRow(row);
  }

  function showTyping() {
    if (state.typingRow) return;
    var row = el("div", "row bot");
    var avatar = el("div", "avatar", "政");
    avatar.setAttribute("aria-hidden", "true");
    var bubble = el("div", "msg bot");
    bubble.setAttribute("data-testid", "typing");
    bubble.setAttribute("role", "status");
    bubble.setAttribute("aria-label", "正在输入");
    var dots = el("span", "typing");
    dots.appendChild(el("span"));
    dots.appendChild(el("span"));
    dots.appendChild(el("span"));
    bubble.appendChild(dots);
    row.appendChild(avatar);
    row.appendChild(bubble);
    messages.appendChild(row);
    state.typingRow = row;
    scrollToBottom();
  }

  function hideTyping() {
    if (state.typingRow && state.typingRow.parentNode) state.typingRow.parentNode.removeChild(state.typingRow);
    state.typingRow = null;
  }

  // ---------------------------------------------------------------- busy state

  function updateSendButton() {
    sendButton.disabled = state.busy || !input.value.trim();
  }

  function setBusy(busy) {
    state.busy = busy;
    document.body.classList.toggle("busy", busy);
    messages.setAttribute("aria-busy", busy ? "true" : "false");
    updateSendButton();
  }

  // ---------------------------------------------------------------- option groups

  /* A group holds the buttons of one reply. A newer interactive reply makes older groups stale
   * (disabled); tapping an option disables its own group unless the request fails. */
  function optionGroup(options, label) {
    var group = el("div", "options");
    group.setAttribute("data-group", "live");
    group.setAttribute("role", "group");
    if (label) group.setAttribute("aria-label", label);
    (options || []).forEach(function (opt) {
      if (!opt || typeof opt.label !== "string") return;
      var button = el("button", "option", opt.label);
      button.type = "button";
      button.setAttribute("data-testid", "option");
      button.addEventListener("click", function () {
        onOptionTap(button, group, opt);
      });
      group.appendChild(button);
    });
    return group;
  }

  /* A long list (the fields under 修改) gets a box above it that keeps only the options containing the typed words. */
  function searchableGroup(options, label) {
    var group = optionGroup(options, label);
    if (group.children.length < SEARCH_FROM) return group;
    var wrap = el("div", "option-search");
    var box = el("input", "option-search-input");
    box.type = "search";
    box.setAttribute("data-testid", "option-search");
    box.setAttribute("aria-label", "查找选项");
    box.placeholder = "输入几个字查找";
    var none = el("div", "msg-note option-search-none", "没有找到，换个字词试试。");
    none.setAttribute("role", "status");
    none.hidden = true;
    box.addEventListener("input", function () {
      var words = box.value.trim();
      var shown = 0;
      Array.prototype.forEach.call(group.children, function (button) {
        var match = !words || button.textContent.indexOf(words) >= 0;
        button.hidden = !match;
        if (match) shown++;
      });
      none.hidden = shown > 0;
    });
    wrap.appendChild(box);
    wrap.appendChild(group);
    wrap.appendChild(none);
    return wrap;
  }

  function setGroupEnabled(group, enabled) {
    group.setAttribute("data-group", enabled ? "live" : "done");
    Array.prototype.forEach.call(group.querySelectorAll("button"), function (b) {
      b.disabled = !enabled;
    });
    var search = group.parentNode && group.parentNode.querySelector(".option-search-input");
    if (search) search.disabled = !enabled;
  }

  function retireLiveGroups() {
    Array.prototype.forEach.call(messages.querySelectorAll('[data-group="live"]'), function (g) {
      setGroupEnabled(g, false);
    });
  }

  function onOptionTap(button, group, opt) {
    if (state.busy || button.disabled) return;
    var value = typeof opt.value === "string" && opt.value ? opt.value : opt.label;
    setGroupEnabled(group, false);
    button.classList.add("chosen");
    addUserText(opt.label);
    postText(value).then(function (ok) {
      if (!ok) {
        button.classList.remove("chosen");
        setGroupEnabled(group, true);
      }
    });
  }

  // ---------------------------------------------------------------- input modes

  function applyInputMode(step) {
    input.classList.remove("upper");
    input.removeAttribute("autocapitalize");
    input.removeAttribute("pattern");
    input.type = "text";
    input.setAttribute("inputmode", "text");
    input.setAttribute("autocomplete", "off");
    // Hooks for tests and styling: which field the box is answering.
    input.setAttribute("data-input", step ? String(step.input || "") : "");
    input.setAttribute("data-field", step ? String(step.key || "") : "");
    if (!step) {
      input.placeholder = DEFAULT_PLACEHOLDER;
      return;
    }
    var label = step.label || "";
    input.placeholder = label ? "请输入" + label : DEFAULT_PLACEHOLDER;
    switch (step.input) {
      case "phone":
        input.type = "tel";
        input.setAttribute("inputmode", "tel");
        input.setAttribute("autocomplete", "tel");
        break;
      case "id_number":
        input.setAttribute("autocapitalize", "characters");
        input.classList.add("upper");
        break;
      case "date":
        input.placeholder = (label || "日期") + "，如 2026-11-20";
        break;
      case "number":
        input.setAttribute("inputmode", "numeric");
        input.setAttribute("pattern", "[0-9]*");
        break;
      case "choice":
        input.placeholder = "请点选上面的选项";
        break;
      default:
        break;
    }
  }

  // ---------------------------------------------------------------- reply renderers

  function progressBadge(progress) {
    if (!progress || typeof progress.current !== "number" || typeof progress.total !== "number") return null;
    return el("div", "progress", "第 " + progress.current + "/" + progress.total + " 步");
  }

  function renderText(reply) {
    addBotText(reply.text || "");
  }

  function renderChoices(reply) {
    var bubble = botBubble();
    bubble.appendChild(el("div", "msg-text", reply.text || ""));
    if (reply.options && reply.options.length) bubble.appendChild(searchableGroup(reply.options, reply.text));
    botRow(bubble);
  }

  /* A masked value of the citizen's own (the confirm card sends `reveal`) shows in full while the button is on. */
  function revealButton(field, value) {
    var button = el("button", "reveal", "显示");
    button.type = "button";
    button.setAttribute("data-testid", "reveal");
    button.setAttribute("aria-pressed", "false");
    button.setAttribute("aria-label", "显示完整的" + field.label);
    button.addEventListener("click", function () {
      var on = button.getAttribute("aria-pressed") !== "true";
      button.setAttribute("aria-pressed", on ? "true" : "false");
      button.textContent = on ? "隐藏" : "显示";
      button.setAttribute("aria-label", (on ? "隐藏" : "显示完整的") + field.label);
      value.textContent = on ? field.reveal : field.value;
    });
    return button;
  }

  function cardFields(fields) {
    var list = el("dl", "card-fields");
    fields.forEach(function (f) {
      var item = el("div", "card-field");
      item.appendChild(el("dt", "", f.label));
      var dd = el("dd");
      var value = el("span", "card-value", f.value);
      dd.appendChild(value);
      if (typeof f.reveal === "string" && f.reveal) dd.appendChild(revealButton(f, value));
      item.appendChild(dd);
      list.appendChild(item);
    });
    return list;
  }

  /* Fields marked `more` (长辈模式 item cards: the essentials first) wait behind 「查看更多」 until tapped. */
  function moreToggle(list) {
    var button = el("button", "more-toggle", "查看更多");
    button.type = "button";
    button.setAttribute("data-testid", "more");
    button.setAttribute("aria-expanded", "false");
    list.hidden = true;
    state.moreLists += 1;
    list.id = "more-" + state.moreLists;
    button.setAttribute("aria-controls", list.id);
    button.addEventListener("click", function () {
      var open = list.hidden;
      list.hidden = !open;
      button.setAttribute("aria-expanded", open ? "true" : "false");
      button.textContent = open ? "收起" : "查看更多";
    });
    return button;
  }

  function renderCard(reply) {
    var bubble = botBubble("card");
    bubble.appendChild(el("div", "card-title", reply.title || ""));
    var fields = reply.fields || [];
    var first = fields.filter(function (f) { return !f.more; });
    var more = fields.filter(function (f) { return f.more; });
    if (first.length) bubble.appendChild(cardFields(first));
    if (more.length) {
      var rest = cardFields(more);
      bubble.appendChild(moreToggle(rest));
      bubble.appendChild(rest);
    }
    if (reply.actions && reply.actions.length) bubble.appendChild(optionGroup(reply.actions, reply.title));
    botRow(bubble);
  }

  function renderFormStep(reply) {
    var bubble = botBubble("form-step");
    var badge = progressBadge(reply.progress);
    if (badge) bubble.appendChild(badge);
    bubble.appendChild(el("div", "msg-text", reply.text || ""));
    if (reply.hint) bubble.appendChild(el("div", "msg-hint", reply.hint));
    if (reply.current_value) bubble.appendChild(el("div", "msg-current", "当前：" + reply.current_value));
    if (reply.options && reply.options.length) bubble.appendChild(searchableGroup(reply.options, reply.label));
    botRow(bubble);
  }

  function describeAccept(accept, maxBytes) {
    var names = [];
    (accept || []).forEach(function (a) {
      var name = TYPE_NAMES[String(a).toLowerCase()];
      if (name && names.indexOf(name) < 0) names.push(name);
    });
    var parts = [];
    if (names.length) parts.push("支持 " + names.join("、"));
    if (maxBytes) parts.push("不超过 " + formatSize(maxBytes));
    return parts.join("，");
  }

  function renderMaterialStep(reply) {
    var bubble = botBubble("material-step");
    var badge = progressBadge(reply.progress);
    if (badge) bubble.appendChild(badge);
    bubble.appendChild(el("div", "msg-text", reply.text || ""));

    var group = el("div", "options upload-group");
    group.setAttribute("data-group", "live");
    group.setAttribute("role", "group");
    group.setAttribute("aria-label", reply.name || "上传材料");
    var upload = el("button", "upload");
    upload.type = "button";
    upload.setAttribute("data-testid", "upload");
    upload.appendChild(svgIcon(ICON_CAMERA, 20));
    upload.appendChild(el("span", "", reply.upload_label || "拍照或上传文件"));
    upload.addEventListener("click", function () {
      if (state.busy || upload.disabled) return;
      state.material = reply;
      fileInput.accept = (reply.accept || []).join(",");
      fileInput.click();
    });
    group.appendChild(upload);
    bubble.appendChild(group);

    var note = describeAccept(reply.accept, reply.max_bytes);
    if (note) bubble.appendChild(el("div", "msg-note", note));
    if (reply.options && reply.options.length) bubble.appendChild(optionGroup(reply.options, reply.name));
    botRow(bubble);
  }

  // The H5 page cannot call wx.requestPayment: with the sandbox it confirms the order itself (the notification
  // then arrives asynchronously, as with WeChat Pay); with WeChat Pay it points to the mini-program.
  function renderPayment(reply) {
    var bubble = botBubble("payment");
    bubble.appendChild(el("div", "msg-text", reply.text || ""));
    bubble.appendChild(el("div", "pay-amount", "¥" + reply.amount));
    if (reply.provider !== "sandbox") {
      bubble.appendChild(el("div", "msg-note", "请在微信小程序中完成支付。"));
      botRow(bubble);
      return;
    }
    var group = el("div", "options");
    group.setAttribute("data-group", "live");
    group.setAttribute("role", "group");
    group.setAttribute("aria-label", "缴费");
    var pay = el("button", "option", "确认支付（沙箱，不扣款）");
    pay.type = "button";
    pay.setAttribute("data-testid", "pay");
    pay.addEventListener("click", function () {
      if (pay.disabled) return;
      pay.disabled = true;
      fetch("/api/v1/payments/sandbox/" + encodeURIComponent(reply.out_trade_no) + "/confirm?user=" +
            encodeURIComponent(state.user), {method: "POST"})
        .then(function (response) {
          addBotText(response.ok ? "支付成功，到账后会通知您。" : "这笔订单不能支付了，请重新回复“缴费”。", !response.ok);
        })
        .catch(function () {
          pay.disabled = false;
          addBotText("网络不太好，请再点一次。", true);
        });
    });
    group.appendChild(pay);
    bubble.appendChild(group);
    botRow(bubble);
  }

  var RENDERERS = {
    payment: renderPayment,
    text: renderText,
    choices: renderChoices,
    card: renderCard,
    form_step: renderFormStep,
    material_step: renderMaterialStep
  };

  function isInteractive(reply) {
    switch (reply.type) {
      case "form_step":
      case "material_step":
      case "payment":
        return true;
      case "choices":
        return !!(reply.options && reply.options.length);
      case "card":
        return !!(reply.actions && reply.actions.length);
      default:
        return false;
    }
  }

  function renderReplies(replies) {
    var interactive = replies.some(function (r) { return r && isInteractive(r); });
    if (interactive) retireLiveGroups();
    var formStep = null;
    var material = null;
    replies.forEach(function (reply) {
      if (!reply || typeof reply !== "object") return;
      var render = RENDERERS[reply.type];
      if (render) {
        render(reply);
      } else if (typeof reply.text === "string") {
        addBotText(reply.text);  // unknown future type: show its text at least
      }
      if (reply.type === "form_step") { formStep = reply; material = null; }
      if (reply.type === "material_step") { material = reply; formStep = null; }
    });
    if (interactive) {
      // A new question replaces the input mode and the pending material; plain text keeps them.
      applyInputMode(formStep);
      state.material = material;
      if (material) fileInput.accept = (material.accept || []).join(",");
    }
  }

  // ---------------------------------------------------------------- network

  function formatSize(bytes) {
    if (bytes >= 1024 * 1024) {
      var mb = bytes / (1024 * 1024);
      return (mb >= 10 || mb === Math.floor(mb) ? Math.round(mb) : mb.toFixed(1)) + "\u00a0MB";
    }
    return Math.max(1, Math.round(bytes / 1024)) + "\u00a0KB";
  }

  function problemText(status, data) {
    if (data && typeof data.detail === "string" && data.detail.trim()) return data.detail;
    if (status === 413) return "文件太大了，请压缩后再传。";
    if (status === 429) return "您发得有点快，请稍等一会儿再发。";
    if (status >= 500) return "系统有点忙，请稍后再发一次，您已填写的内容都保存着。";
    return "出了点问题，请稍后再试。";
  }

  /* A new id for one message (a UUID v4); the same id goes with every retry of that message, so the server
     answers a retry with its first answer instead of running it again. */
  function newMessageId() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") return window.crypto.randomUUID();
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);  // randomUUID needs https; this works on plain http too
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    var hex = Array.prototype.map.call(bytes, function (b) { return (b + 0x100).toString(16).slice(1); }).join("");
    return hex.slice(0, 8) + "-" + hex.slice(8, 12) + "-" + hex.slice(12, 16) + "-" + hex.slice(16, 20) + "-" +
      hex.slice(20);
  }

  /* One attempt: {data} on success, else {status, data} or {error} (the fetch failed or timed out). */
  async function attempt(body, isUpload, messageId) {
    var controller = typeof AbortController === "function" ? new AbortController() : null;
    var timer = window.setTimeout(function () { if (controller) controller.abort(); },
                                  isUpload ? UPLOAD_TIMEOUT_MS : TEXT_TIMEOUT_MS);
    try {
      var init = { method: "POST", body: body, credentials: "same-origin",
                   headers: { "Accept": "application/json", "Idempotency-Key": messageId } };
      if (!isUpload) init.headers["Content-Type"] = "application/json";
      if (controller) init.signal = controller.signal;
      var res = await fetch(API_URL, init);
      var raw = await res.text();
      var data = null;
      try { data = raw ? JSON.parse(raw) : null; } catch (e) { data = null; }
      if (res.ok && data && Array.isArray(data.replies)) return { data: data };
      return { status: res.status, data: data };
    } catch (err) {
      return { error: err };
    } finally {
      window.clearTimeout(timer);
    }
  }

  /* Send one message; render the replies or an error bubble. Resolves to true on success. A lost connection,
     a timeout or a 502/503/504 is retried once with the same message id. */
  async function send(body, isUpload) {
    if (state.busy) return false;
    setBusy(true);
    showTyping();
    var messageId = newMessageId();
    var errorText = null;
    try {
      var result = await attempt(body, isUpload, messageId);
      if (result.error || [502, 503, 504].indexOf(result.status) >= 0) {
        await new Promise(function (resolve) { window.setTimeout(resolve, RETRY_AFTER_MS); });
        result = await attempt(body, isUpload, messageId);
      }
      if (result.data && !result.status) {
        hideTyping();
        renderReplies(result.data.replies);
      } else if (result.error) {
        errorText = result.error.name === "AbortError"
          ? "网络有点慢，没有收到回复，请稍后再试。"
          : "网络好像断开了，请检查网络后再试。";
      } else {
        errorText = problemText(result.status, result.data);
      }
    } finally {
      hideTyping();
      if (errorText) addBotText(errorText, true);
      setBusy(false);
    }
    return !errorText;
  }

  function postText(text) {
    return send(JSON.stringify({ user: state.user, text: text, elder: elderMode() }), false);
  }

  function uploadFile(file) {
    var form = new FormData();
    form.append("user", state.user);
    if (elderMode()) form.append("elder", "true");
    form.append("file", file, file.name);
    return send(form, true);
  }

  // ---------------------------------------------------------------- live channel
  // Staff answers during 转人工, the bot taking the chat back, progress messages: shown as they happen. The first
  // frame says who we are (never in the URL); a message shown here is acknowledged so the next opening does not
  // repeat it.

  var LIVE_URL = "/api/v1/chat/live";
  var LIVE_RETRY_MAX_MS = 30000;
  var shownLive = {};

  function acknowledge(id) {
    fetch("/api/v1/messages/ack", {
      method: "POST", credentials: "same-origin", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ user: state.user, ids: [id] })
    }).catch(function () { /* shown anyway; the next opening lists it once more */ });
  }

  function onLiveEvent(event) {
    if (!event || typeof event !== "object") return;
    if (event.kind === "message" && typeof event.text === "string" && !shownLive[event.id]) {
      shownLive[event.id] = true;
      addBotText(event.text);
      acknowledge(event.id);
    } else if (event.kind === "replies" && Array.isArray(event.replies)) {
      renderReplies(event.replies);
    }
  }

  function connectLive(retryMs) {
    if (typeof window.WebSocket !== "function") return;
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    var socket;
    try { socket = new window.WebSocket(scheme + window.location.host + LIVE_URL); } catch (e) { return; }
    socket.onopen = function () { socket.send(JSON.stringify({ user: state.user })); };
    socket.onmessage = function (frame) {
      var event = null;
      try { event = JSON.parse(frame.data); } catch (e) { return; }
      if (event && event.kind === "ready") retryMs = 1000;
      onLiveEvent(event);
    };
    socket.onclose = function () {
      window.setTimeout(function () { connectLive(Math.min(LIVE_RETRY_MAX_MS, retryMs * 2)); }, retryMs);
    };
  }

  // ---------------------------------------------------------------- events

  composer.addEventListener("submit", function (event) {
    event.preventDefault();
    if (state.busy) return;
    var text = input.value.trim();
    if (!text) return;
    if (input.classList.contains("upper")) text = text.toUpperCase();
    input.value = "";
    addUserText(text);
    postText(text);
    input.focus();
  });

  input.addEventListener("input", updateSendButton);

  fileInput.addEventListener("change", function () {
    var file = fileInput.files && fileInput.files[0];
    fileInput.value = "";  // allow picking the same file again
    if (!file) return;
    if (state.busy) {
      addBotText("请等上一条消息回复后再上传。", true);
      return;
    }
    var step = state.material;
    if (file.size === 0) {
      addBotText("文件「" + file.name + "」是空的，请重新选择。", true);
      return;
    }
    if (step && step.max_bytes && file.size > step.max_bytes) {
      addBotText("文件「" + file.name + "」有 " + formatSize(file.size) + "，超过了 " +
                 formatSize(step.max_bytes) + " 的上限。请压缩一下或重新拍一张再传。", true);
      return;
    }
    addUserFile(file.name);
    uploadFile(file);
  });

  // 长辈模式: larger text, stronger contrast, bigger buttons, fewer words per message (the server is told with
  // each message); remembered on this phone.
  function elderMode() {
    return document.body.classList.contains("elder");
  }

  function setElderMode(on) {
    document.body.classList.toggle("elder", on);
    elderToggle.setAttribute("aria-pressed", on ? "true" : "false");
  }

  elderToggle.addEventListener("click", function () {
    var on = !document.body.classList.contains("elder");
    setElderMode(on);
    try { window.localStorage.setItem(ELDER_KEY, on ? "1" : "0"); } catch (e) { /* storage blocked */ }
  });

  var elderStored = null;
  try { elderStored = window.localStorage.getItem(ELDER_KEY); } catch (e) { /* storage blocked */ }
  setElderMode(elderStored === "1");

  // Keep the newest message visible when the on-screen keyboard resizes the page.
  var viewport = window.visualViewport || window;
  viewport.addEventListener("resize", scrollToBottom);

  applyInputMode(null);
  updateSendButton();
  postText("/hello");
  connectLive(1000);
})();
