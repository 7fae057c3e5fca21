// The guard console's live side: the incident list kept current over
// Server-Sent Events, the deadlines counting down, and the actions posted
// without a reload. Nothing here is trusted: the server checks everything.
'use strict';
(function () {
  const csrf = document.body.dataset.csrf;
  const list = document.getElementById('incidents');
  const lost = document.getElementById('lost');
  const conn = document.getElementById('conn');
  const clock = document.getElementById('clock');
  const toast = document.getElementById('toast');
  let offset = 0; // kiosk time minus this browser's clock, in ms

  // ---- time ----
  function readNow() {
    const d = document.getElementById('incidents-data');
    if (d) offset = Date.parse(d.dataset.now) - Date.now();
  }
  const kioskNow = () => Date.now() + offset;
  const pad = n => String(n).padStart(2, '0');
  function span(ms) {
    const s = Math.floor(Math.abs(ms) / 1000);
    const h = Math.floor(s / 3600), m = Math.floor(s % 3600 / 60);
    return (h > 0 ? h + ':' + pad(m) : String(m)) + ':' + pad(s % 60);
  }
  function age(ms) {
    const m = Math.floor(ms / 60000);
    if (m < 1) return '刚刚 just now';
    if (m < 60) return m + ' 分钟前 min ago';
    return Math.floor(m / 60) + ' 小时 ' + (m % 60) + ' 分钟前 h ago';
  }
  function localTime(t) {
    const d = new Date(t);
    const hms = pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds());
    if (Math.abs(kioskNow() - d.getTime()) < 20 * 3600e3) return hms;
    return (d.getMonth() + 1) + '-' + pad(d.getDate()) + ' ' + hms;
  }

  function tick() {
    const now = kioskNow();
    clock.textContent = localTime(now);
    for (const el of document.querySelectorAll('.countdown[data-due]')) {
      const left = Date.parse(el.dataset.due) - now;
      const over = left <= 0 || el.dataset.overdue === 'true';
      el.classList.toggle('over', over);
      el.classList.toggle('soon', !over && left < 60000);
      el.textContent = over ? '已超时 ' + span(Math.min(left, 0)) + ' OVERDUE' : '还剩 ' + span(left) + ' left';
    }
    for (const el of document.querySelectorAll('.age[data-since]')) {
      el.textContent = age(now - Date.parse(el.dataset.since));
    }
    for (const el of document.querySelectorAll('time[data-t]:not([data-done])')) {
      el.textContent = localTime(el.dataset.t);
      el.dataset.done = '1';
    }
  }

  // ---- the live list ----
  // update puts the server's fresh list in place. A card (an incident, the
  // recovery banner: anything with a data-version) whose version is
  // unchanged is kept as it is (what the guard is typing stays); a changed
  // card is replaced, keeping what was typed in its fields and the focus.
  function update(html) {
    const tpl = document.createElement('template');
    tpl.innerHTML = html;
    const old = new Map();
    for (const a of list.querySelectorAll(':scope > [data-version]')) old.set(a.dataset.id, a);
    const focus = document.activeElement;
    let refocus = null;
    const next = [];
    for (const node of Array.from(tpl.content.childNodes)) {
      if (node.nodeType === Node.TEXT_NODE && !node.textContent.trim()) continue;
      const prev = node.nodeType === Node.ELEMENT_NODE && node.matches('[data-version]') ? old.get(node.dataset.id) : null;
      if (prev && prev.dataset.version === node.dataset.version) {
        next.push(prev);
        continue;
      }
      if (prev) {
        carryOver(prev, node);
        if (prev.contains(focus) && focus.name) refocus = { node: node, focus: focus };
      }
      next.push(node);
    }
    next.forEach((node, i) => {
      const cur = list.childNodes[i];
      if (cur !== node) list.insertBefore(node, cur || null);
    });
    while (list.childNodes.length > next.length) list.lastChild.remove();
    if (refocus) restoreFocus(refocus.node, refocus.focus);
    readNow();
    tick();
  }

  function fieldsOf(card) {
    return card.querySelectorAll('form[data-action] textarea, form[data-action] input[type=text], form[data-action] select');
  }
  function sameField(card, el) {
    const form = el.closest('form');
    return card.querySelector('form[data-action="' + form.dataset.action + '"] [name="' + el.name + '"]');
  }
  function carryOver(prev, node) {
    for (const el of fieldsOf(prev)) {
      const twin = sameField(node, el);
      if (twin && el.value && (twin.tagName !== 'SELECT' || twin.querySelector('option[value="' + CSS.escape(el.value) + '"]'))) twin.value = el.value;
    }
  }
  function restoreFocus(node, focus) {
    const twin = sameField(node, focus);
    if (!twin) return;
    twin.focus();
    if (typeof focus.selectionStart === 'number' && twin.setSelectionRange) twin.setSelectionRange(focus.selectionStart, focus.selectionEnd);
  }

  // ---- the connection ----
  let source = null;
  let retry = 1000;
  function online(up) {
    lost.hidden = up;
    conn.classList.toggle('live', up);
    conn.classList.toggle('down', !up);
    conn.innerHTML = up ? '实时 <span class="en">Live</span>' : '连接中断 <span class="en">Disconnected</span>';
  }
  function connect() {
    source = new EventSource('/guard/events');
    source.addEventListener('incidents', e => { update(JSON.parse(e.data)); online(true); });
    source.onopen = () => { online(true); retry = 1000; };
    source.onerror = () => {
      online(false);
      if (source.readyState === EventSource.CLOSED) { // refused, not just dropped: find out why
        source.close();
        setTimeout(checkSession, retry);
        retry = Math.min(retry * 2, 15000);
      } // else the browser reconnects by itself
    };
  }
  // checkSession sends the guard to the login page if the session has
  // ended, else reconnects. It also runs every 20 s, so a link that died
  // without a word still shows as lost.
  async function checkSession(reconnect = true) {
    try {
      const r = await fetch('/guard/session', { cache: 'no-store', signal: AbortSignal.timeout(5000) });
      if (r.status === 401) { location.href = '/guard/login?expired=1'; return; }
      if (!reconnect) online(r.ok && source && source.readyState === EventSource.OPEN);
    } catch (_) {
      online(false);
    }
    if (reconnect) connect();
  }

  // ---- actions ----
  function say(text) {
    toast.textContent = text;
    toast.hidden = false;
    clearTimeout(say.t);
    say.t = setTimeout(() => { toast.hidden = true; }, 3000);
  }
  function formOf(id, action) {
    return list.querySelector('[data-version][data-id="' + CSS.escape(id) + '"] form[data-action="' + action + '"]');
  }
  function showError(id, action, msg, values) {
    const form = formOf(id, action);
    if (!form) { say(msg); return; }
    for (const [k, v] of values) {
      const el = form.querySelector('[name="' + k + '"]');
      if (el && k !== 'csrf') el.value = v;
    }
    const p = form.closest('.actions').querySelector('.form-error');
    p.textContent = msg;
    p.hidden = false;
  }
  function arm(btn) {
    btn.classList.add('armed');
    btn.dataset.label = btn.innerHTML;
    btn.textContent = btn.dataset.confirm;
    setTimeout(() => { btn.classList.remove('armed'); btn.innerHTML = btn.dataset.label; }, 5000);
  }
  const done = {
    accept: '已接单 · Accepted', note: '备注已记录 · Note added', handle: '已记录当场处置 · Handled on site',
    escalate: '已转派出所 · Escalated', close: '已结案 · Closed', acknowledge: '已确认日志恢复 · Recovery acknowledged',
  };

  async function submit(form) {
    const id = form.closest('[data-version]').dataset.id;
    const action = form.dataset.action;
    const values = new URLSearchParams(new FormData(form));
    form.closest('.actions').querySelector('.form-error').hidden = true;
    for (const el of fieldsOf(form)) if (el.tagName !== 'SELECT') el.value = ''; // sent: a live update must not bring it back
    for (const b of form.querySelectorAll('button')) b.disabled = true;
    try {
      const r = await fetch(form.action, {
        method: 'POST', body: values, signal: AbortSignal.timeout(15000),
        headers: { 'X-CSRF-Token': csrf, 'Accept': 'application/json' },
      });
      if (r.status === 401) { location.href = '/guard/login?expired=1'; return; }
      const body = await r.json().catch(() => ({}));
      if (r.ok) say(done[action] || 'OK');
      else showError(id, action, body.error || 'HTTP ' + r.status, values);
    } catch (_) {
      showError(id, action, '未能发送，请检查连接后重试 · Could not send; check the connection and try again.', values);
    } finally {
      for (const b of form.querySelectorAll('button')) b.disabled = false;
    }
  }

  document.addEventListener('submit', e => {
    const form = e.target;
    if (!form.dataset.action) return; // logging out is a plain form post
    e.preventDefault();
    const confirmBtn = form.querySelector('button[data-confirm]');
    if (confirmBtn && !confirmBtn.classList.contains('armed')) { arm(confirmBtn); return; }
    submit(form);
  });

  readNow();
  tick();
  setInterval(tick, 1000);
  connect();
  setInterval(() => checkSession(false), 20000);
})();
