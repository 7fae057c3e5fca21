// The citizen screen. It shows the five requests; a touch is the same as the
// request's button (POST /api/calls). Then it follows the call live from
// /api/citizen/events and says only what is true: registered once the kiosk
// journaled it, delivered only when the platform acked it, and when the
// platform cannot be reached, that the call is registered here and the guard
// on site was alerted. Nothing here can administer anything.
"use strict";
(() => {
  const T = {
    zh: {
      title: "共治警务站", subtitle: "一键呼叫 · 有事找我们", langButton: "English",
      choose: "请选择您需要的服务，点一下即可呼叫",
      "police.name": "找警察", "police.desc": "治安求助、报警、纠纷、走失",
      "community.name": "找社区", "community.desc": "社区事务、邻里纠纷、办事咨询",
      "lawyer.name": "找律师", "lawyer.desc": "法律咨询、法律援助",
      "market.name": "市场监管", "market.desc": "消费投诉、商品质量、价格问题",
      "labour.name": "劳动监察", "labour.desc": "欠薪、劳动合同、用工纠纷",
      "step.registered": "已登记", "step.delivered": "已送达平台", "step.accepted": "已受理",
      "link.online": "平台已连接", "link.offline": "平台未连接 · 本站值守", "link.lost": "屏幕连接中断", "link.unknown": "正在连接…",
      messages: "值班人员留言", cancel: "取消呼叫", back: "返回首页",
      "confirm.title": "确定要取消这次呼叫吗？", "confirm.detail": "取消后，记录仍会保留，值班人员会核实。",
      "confirm.yes": "是，取消呼叫", "confirm.no": "不，继续等待",
      footer: "遇到紧急危险，请立即拨打 110",
      meta: "呼叫编号 {code} · {time} 登记", presses: " · 已按 {n} 次", urgent: " · 紧急",
      "h.registered": "已登记", "d.registered": "您的呼叫已在本站记录，正在送达平台……",
      "h.onsite": "已在本站登记", "d.onsite": "平台暂时联系不上。您的呼叫已在本站登记，已通知现场保安，请在此稍候。",
      "h.delivered": "已送达平台", "d.delivered": "正在等待值班人员受理。",
      "h.accepted": "{name} 已受理", "d.accepted": "值班人员将在{n}分钟内与您联系。", "d.acceptedLate": "值班人员已知悉您的呼叫。",
      "h.overdue": "已超过承诺时间，尚未受理", "d.overdue": "已再次提醒值班人员。请直接找现场保安；紧急情况请拨打 110。",
      "h.cancelled": "呼叫已取消", "d.cancelled": "记录已保留，值班人员会核实后结束。",
      "h.handled_on_site": "已由现场人员处理", "d.handled_on_site": "感谢您的耐心。如还需要帮助，请重新选择服务。",
      "h.escalated": "已转交派出所处理", "d.escalated": "派出所会继续跟进。",
      "note.notDelivered": "平台暂时联系不上，记录会在恢复后送达。",
      "c.pending": "值班人员将在{t}内与您联系", "c.waited": "您已等待{t}", "c.accepted": "距约定联系时间还有{t}",
      "c.late": "约定联系时间已过{t}，如未接到联系，请告诉现场保安", "c.over": "已超时{t}",
      "others": "进行中的呼叫：", "error.call": "登记失败。请按实体呼叫按钮，或直接找现场保安。",
      "error.cancel": "取消未成功，请找现场保安。",
      "banner.lost": "屏幕与本机的连接中断，正在重新连接。请使用实体呼叫按钮，或直接找现场保安。",
      "s.registered": "已登记", "s.delivered": "已送达", "s.accepted": "已受理", "s.cancelled": "已取消",
      "s.handled_on_site": "已处理", "s.escalated": "已转派出所",
    },
    en: {
      title: "Police Service Point", subtitle: "One-touch call · We are here to help", langButton: "中文",
      choose: "Choose the help you need — one touch calls",
      "police.name": "Police", "police.desc": "Report a crime, ask for help, disputes, lost persons",
      "community.name": "Community", "community.desc": "Community affairs, neighbour disputes, paperwork",
      "lawyer.name": "Lawyer", "lawyer.desc": "Legal advice and legal aid",
      "market.name": "Market", "market.desc": "Consumer complaints, product quality, prices",
      "labour.name": "Labour", "labour.desc": "Unpaid wages, contracts, workplace disputes",
      "step.registered": "Registered", "step.delivered": "Delivered", "step.accepted": "Accepted",
      "link.online": "Platform connected", "link.offline": "Platform offline · staffed here", "link.lost": "Screen disconnected", "link.unknown": "Connecting…",
      messages: "Messages from staff", cancel: "Cancel call", back: "Main menu",
      "confirm.title": "Cancel this call?", "confirm.detail": "The record is kept and staff will check it.",
      "confirm.yes": "Yes, cancel it", "confirm.no": "No, keep waiting",
      footer: "In danger? Call 110 now",
      meta: "Call {code} · registered {time}", presses: " · pressed {n} times", urgent: " · urgent",
      "h.registered": "Registered", "d.registered": "Your call is recorded here and is being sent to the platform…",
      "h.onsite": "Registered here", "d.onsite": "The platform cannot be reached. Your call is registered here and the guard on site has been alerted. Please wait here.",
      "h.delivered": "Delivered", "d.delivered": "Waiting for staff to accept it.",
      "h.accepted": "Accepted by {name}", "d.accepted": "Staff will contact you within {n} minutes.", "d.acceptedLate": "Staff know about your call.",
      "h.overdue": "Late: not accepted yet", "d.overdue": "Staff have been reminded. Please ask the guard on site; in danger, call 110.",
      "h.cancelled": "Call cancelled", "d.cancelled": "The record is kept; staff will check and close it.",
      "h.handled_on_site": "Handled on site", "d.handled_on_site": "Thank you. If you need more help, choose a service again.",
      "h.escalated": "Passed to the police station", "d.escalated": "The police station will follow up.",
      "note.notDelivered": "The platform cannot be reached; the record will be sent when it is back.",
      "c.pending": "Staff will contact you within {t}", "c.waited": "You have waited {t}", "c.accepted": "Contact due in {t}",
      "c.late": "Contact was due {t} ago; if nobody contacted you, please tell the guard", "c.over": "Late by {t}",
      "others": "Calls in progress:", "error.call": "Could not register. Please press a call button or ask the guard on site.",
      "error.cancel": "Could not cancel. Please ask the guard on site.",
      "banner.lost": "The screen lost its connection and is reconnecting. Please use a call button or ask the guard on site.",
      "s.registered": "registered", "s.delivered": "delivered", "s.accepted": "accepted", "s.cancelled": "cancelled",
      "s.handled_on_site": "handled", "s.escalated": "passed to police",
    },
  };
  const ACTIVE = ["registered", "delivered", "accepted"];
  const SHOW_FINISHED_MS = 60000; // a finished call stays on screen this long
  const ONSITE_AFTER_MS = 10000;  // undelivered this long: say so even if the link looks up

  const $ = (id) => document.getElementById(id);
  let lang = localStorage.getItem("kiosk.lang") === "en" ? "en" : "zh";
  let view = null;          // the last /api/citizen view
  let offset = 0;           // server clock minus ours, ms
  let connected = false;    // the live stream is up
  let focusID = null;       // the call on screen
  let menu = false;         // the citizen asked for the main menu
  let newest = 0;           // the latest updated_at seen, ms
  let error = "";           // the last action's failure, shown until the next change
  const provisional = new Map(); // calls we registered before the stream told us
  const heard = new Map();  // id → what was last announced
  let primed = false;       // announce only what changes after the first view

  const t = (key, args = {}) => (T[lang][key] ?? T.zh[key] ?? key).replace(/\{(\w+)\}/g, (_, k) => args[k] ?? "");
  const now = () => Date.now() + offset;
  const ms = (s) => (s ? Date.parse(s) : NaN);
  const pad = (n) => String(n).padStart(2, "0");
  const hhmm = (d) => pad(d.getHours()) + ":" + pad(d.getMinutes());
  // cut shortens a name from outside to n characters (code points), so that
  // the headline stays a headline; the screen's CSS wraps what remains.
  const cut = (s, n) => { const a = Array.from(s); return a.length > n ? a.slice(0, n).join("") + "…" : s; };
  const mmss = (left) => { const s = Math.max(0, Math.ceil(left / 1000)); return Math.floor(s / 60) + ":" + pad(s % 60); };

  function calls() {
    const list = view ? [...view.calls] : [];
    for (const [id, c] of provisional) {
      if (list.some((x) => x.id === id)) provisional.delete(id); else list.push(c);
    }
    return list;
  }
  const showable = (c) => ACTIVE.includes(c.status) || now() - ms(c.updated_at) < SHOW_FINISHED_MS;

  // stage is what the citizen must be told about c now.
  function stage(c) {
    if (!ACTIVE.includes(c.status)) return c.status;
    if (c.overdue.includes("callback") && !c.callback_met) return "overdue";
    if (c.status === "accepted") return "accepted";
    if (c.delivered) return "delivered";
    const offline = !(view && view.online) || !connected;
    return offline || now() - ms(c.registered_at) > ONSITE_AFTER_MS ? "onsite" : "registered";
  }

  function pickFocus(list) {
    const latest = (a, b) => ms(b.updated_at) - ms(a.updated_at);
    // A change to a live call brings it on screen; a finished call's late
    // news (say, its delivery after a cancel) does not take the screen back.
    const changed = list.filter((c) => ms(c.updated_at) > newest).sort(latest);
    if (changed.length) newest = ms(changed[0].updated_at);
    const live = changed.filter((c) => ACTIVE.includes(c.status));
    if (live.length && (primed || !focusID)) { focusID = live[0].id; menu = false; }
    const cur = list.find((c) => c.id === focusID);
    if (cur && showable(cur)) return cur;
    const next = list.filter(showable).sort(latest)[0];
    focusID = next ? next.id : null;
    return next || null;
  }

  function render() {
    const list = calls();
    const c = pickFocus(list);
    document.body.dataset.lang = lang;
    document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
    for (const el of document.querySelectorAll("[data-t]")) el.textContent = t(el.dataset.t);
    $("lang").textContent = t("langButton");
    $("clock").textContent = hhmm(new Date(now()));
    const link = !connected ? (view ? "lost" : "unknown") : view.online ? "online" : "offline";
    $("link").dataset.state = link;
    $("link").textContent = t("link." + link);
    const banner = !connected && view ? t("banner.lost") : error;
    $("banner").hidden = !banner;
    $("banner").textContent = banner;
    const showCall = c && !menu;
    document.body.dataset.view = showCall ? "call" : "idle";
    $("idle").hidden = showCall;
    $("call").hidden = !showCall;
    renderOthers(list.filter((x) => showable(x) && ACTIVE.includes(x.status)));
    if (showCall) renderCall(c);
    if (!showCall && !$("confirm").hidden) $("confirm").hidden = true;
    announce(list);
    primed = true;
  }

  function renderOthers(active) {
    const box = $("others");
    const key = lang + active.map((c) => c.id + c.status).join();
    if (box.dataset.key === key) return; // rebuilt only on change, so a touch never lands on a replaced button
    box.dataset.key = key;
    box.hidden = active.length === 0;
    box.replaceChildren(document.createTextNode(t("others")));
    for (const c of active) {
      const b = document.createElement("button");
      b.type = "button";
      b.textContent = t(c.request + ".name") + " · " + t("s." + c.status);
      b.addEventListener("click", () => { focusID = c.id; menu = false; render(); });
      box.append(b);
    }
  }

  function renderCall(c) {
    const st = stage(c);
    const call = $("call");
    call.dataset.id = c.id;
    call.dataset.stage = st;
    $("call-type").textContent = t(c.request + ".name");
    $("call-meta").textContent = t("meta", { code: c.id.slice(-4).toUpperCase(), time: hhmm(new Date(ms(c.registered_at))) }) +
      (c.presses > 1 ? t("presses", { n: c.presses }) : "") + (c.urgent ? t("urgent") : "");
    const accepted = c.status === "accepted" || (c.responder && !["registered", "delivered"].includes(c.status));
    const done = { registered: true, delivered: c.delivered, accepted: Boolean(accepted) };
    let nowSet = false;
    for (const li of call.querySelectorAll(".steps li")) {
      const d = done[li.dataset.step];
      li.classList.toggle("done", d);
      li.classList.toggle("now", !d && !nowSet && ACTIVE.includes(c.status));
      if (!d) nowSet = true;
    }
    const tone = { registered: "info", onsite: "warn", delivered: "info", accepted: "ok", overdue: "bad",
      cancelled: "info", handled_on_site: "ok", escalated: "ok" }[st] || "info";
    $("status").dataset.tone = tone;
    const minutes = Math.round((ms(c.callback_due) - ms(c.registered_at)) / 60000);
    $("headline").textContent = t("h." + st, { name: cut(c.responder || "", 16) });
    $("headline").classList.toggle("long", Array.from(c.responder || "").length > 8);
    const late = st === "accepted" && ms(c.callback_by) <= now();
    let detail = t(late ? "d.acceptedLate" : "d." + st, { n: minutes });
    if (!c.delivered && st !== "onsite" && st !== "registered" && !(view && view.online)) detail += " " + t("note.notDelivered");
    $("detail").textContent = detail;
    renderCountdown(c, st);
    renderMessages(c);
    $("cancel").hidden = !ACTIVE.includes(c.status);
  }

  function renderCountdown(c, st) {
    const el = $("countdown");
    let key = "", shown = 0; // the time shown: left, or past a promise
    if (st === "accepted") {
      shown = Math.abs(ms(c.callback_by) - now());
      key = ms(c.callback_by) > now() ? "c.accepted" : "c.late";
      $("status").dataset.tone = key === "c.accepted" ? "ok" : "warn";
    } else if (st === "overdue") {
      shown = now() - ms(c.callback_due);
      key = "c.over";
    } else if (st === "onsite") { // the promise is the platform's, and it cannot be reached: show the wait, not a promise
      shown = now() - ms(c.registered_at);
      key = "c.waited";
    } else if (["registered", "delivered"].includes(st)) {
      shown = ms(c.callback_due) - now();
      key = "c.pending";
    }
    el.hidden = !key;
    if (!key) return;
    const [before, after] = t(key, { t: "{t}" }).split("{t}");
    const clock = document.createElement("b");
    clock.textContent = mmss(shown);
    el.replaceChildren(before, ...(after === undefined ? [] : [clock, after]));
  }

  function renderMessages(c) {
    const msgs = [...(c.messages || [])].reverse();
    $("messages").hidden = msgs.length === 0;
    $("message-list").replaceChildren(...msgs.map((m) => {
      const li = document.createElement("li");
      const from = document.createElement("small");
      from.textContent = m.from + " · " + hhmm(new Date(ms(m.at)));
      li.append(from, document.createTextNode(m.text));
      return li;
    }));
  }

  // Voice: one prompt per new stage of each call, and one per new message.
  const queue = [];
  function announce(list) {
    for (const c of list) {
      const was = heard.get(c.id) || {};
      const st = stage(c);
      const n = (c.messages || []).length;
      heard.set(c.id, { stage: st, messages: n });
      if (!primed || c.id !== focusID || menu) continue;
      if (st !== was.stage) say(st === "accepted" && promisesFiveMinutes(c) ? "accepted5" : st);
      if (n > (was.messages || 0)) say("message");
    }
  }
  const said = []; // the last prompts asked for, newest last (body data-said, for tests and support)
  // promisesFiveMinutes: the recorded "within 5 minutes" prompt is true for c.
  function promisesFiveMinutes(c) {
    return Math.round((ms(c.callback_due) - ms(c.registered_at)) / 60000) === 5 && ms(c.callback_by) > now();
  }
  function say(name) {
    const file = { handled_on_site: "handled" }[name] || name;
    said.push(file);
    document.body.dataset.said = said.slice(-12).join(" ");
    queue.push(file);
    if (queue.length > 3) queue.splice(0, queue.length - 3);
    const audio = $("voice");
    if (audio.paused || audio.ended) playNext();
  }
  let watchdog = 0;
  function playNext() {
    clearTimeout(watchdog);
    const name = queue.shift();
    if (!name) return;
    const audio = $("voice");
    audio.src = "/voice/" + lang + "-" + name + ".ogg";
    document.body.dataset.voice = name;
    watchdog = setTimeout(playNext, 10000); // a prompt that never ends must not silence the next
    audio.play().catch(() => playNext()); // no sound (autoplay refused, file missing): the screen still says it
  }
  $("voice").addEventListener("ended", playNext);
  $("voice").addEventListener("playing", () => (document.body.dataset.voicePlaying = document.body.dataset.voice));

  async function post(path, body) {
    const res = await fetch(path, { method: "POST", headers: { "Content-Type": "application/json" }, body: body ? JSON.stringify(body) : undefined });
    if (!res.ok) throw new Error(res.status + " " + (await res.text()));
    return res.json();
  }

  async function touch(tile) {
    const tiles = document.querySelectorAll(".tile");
    tile.classList.add("pressed");
    tiles.forEach((b) => (b.disabled = true));
    setTimeout(() => { tile.classList.remove("pressed"); tiles.forEach((b) => (b.disabled = false)); }, 800);
    try {
      const { incident } = await post("/api/calls", { request: tile.dataset.request });
      error = "";
      if (!calls().some((c) => c.id === incident)) { // else the live stream already showed it
        focusID = incident;
        menu = false;
        const at = new Date(now()).toISOString();
        provisional.set(incident, { id: incident, request: tile.dataset.request, status: "registered", delivered: false,
          presses: 1, registered_at: at, updated_at: at, callback_due: new Date(now() + 300000).toISOString(),
          callback_met: false, overdue: [], messages: [] });
      }
    } catch (e) {
      error = t("error.call");
    }
    render();
  }

  async function cancelFocused() {
    $("confirm").hidden = true;
    try {
      await post("/api/incidents/" + encodeURIComponent(focusID) + "/cancel");
      error = "";
    } catch (e) {
      error = t("error.cancel");
    }
    render();
  }

  let confirmTimer = 0;
  function askCancel() {
    $("confirm").hidden = false;
    clearTimeout(confirmTimer);
    confirmTimer = setTimeout(() => ($("confirm").hidden = true), 20000); // nobody answered: keep the call
  }

  function listen() {
    const es = new EventSource("/api/citizen/events");
    es.addEventListener("calls", (ev) => {
      view = JSON.parse(ev.data);
      offset = Date.parse(view.now) - Date.now();
      connected = true;
      error = "";
      render();
    });
    es.addEventListener("error", () => { connected = false; render(); }); // EventSource reconnects by itself
  }

  for (const tile of document.querySelectorAll(".tile")) tile.addEventListener("click", () => touch(tile));
  $("lang").addEventListener("click", () => {
    lang = lang === "zh" ? "en" : "zh";
    localStorage.setItem("kiosk.lang", lang);
    render();
  });
  $("back").addEventListener("click", () => { menu = true; render(); });
  $("cancel").addEventListener("click", askCancel);
  $("confirm-no").addEventListener("click", () => ($("confirm").hidden = true));
  $("confirm-yes").addEventListener("click", cancelFocused);
  document.addEventListener("contextmenu", (e) => e.preventDefault());
  setInterval(render, 500);
  render();
  listen();
})();
