// Station console: live refresh, countdowns and the action dialog.
"use strict";

const live = document.getElementById("live");
const dialog = document.getElementById("act");
const form = document.getElementById("act-form");
const operator = document.getElementById("operator");
const titles = {
  accept: "接警 Accept", message: "留言 Message to citizen", escalate: "转派出所 Escalate",
  close: "结案 Close", upload_clip: "调取录像 Ask for clip upload",
  acknowledge_recovery: "确认日志恢复 Acknowledge journal recovery",
};
let skew = 0; // server clock minus browser clock, ms

operator.value = localStorage.getItem("station.operator") || "";
operator.addEventListener("input", () => localStorage.setItem("station.operator", operator.value.trim()));

// Live updates: the server says "change" over SSE; we fetch the fragment.
let refreshing = false, again = false;
async function refresh() {
  if (refreshing) { again = true; return; }
  refreshing = true;
  try {
    const res = await fetch("/live", { cache: "no-store" });
    if (res.ok) { live.innerHTML = await res.text(); readSkew(); tick(); }
  } catch (e) { /* the next change or poll tries again */ }
  refreshing = false;
  if (again) { again = false; refresh(); }
}
function readSkew() {
  const el = live.querySelector("[data-now]");
  if (el) skew = Date.parse(el.dataset.now) - Date.now();
}
const stream = new EventSource("/api/stream");
stream.addEventListener("change", refresh);
setInterval(() => { if (stream.readyState !== EventSource.OPEN) refresh(); }, 5000);

// Countdowns and ages, every second, from the server's clock.
function fmt(ms) {
  const s = Math.floor(Math.abs(ms) / 1000);
  if (s < 60) return s + " s";
  if (s < 3600) return Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
  if (s < 48 * 3600) return Math.floor(s / 3600) + " h " + String(Math.floor(s / 60) % 60).padStart(2, "0") + " min";
  return Math.floor(s / 86400) + " d";
}
function tick() {
  const now = Date.now() + skew;
  for (const el of live.querySelectorAll(".deadline")) {
    const left = Date.parse(el.dataset.due) - now, text = el.querySelector(".dl-left");
    const met = el.dataset.met === "true";
    el.classList.toggle("met", met);
    el.classList.toggle("missed", !met && left <= 0);
    text.textContent = met ? "已响应 met" : left > 0 ? "剩 " + fmt(left) + " left" : "已超时 OVERDUE +" + fmt(left);
  }
  for (const el of live.querySelectorAll("[data-since]")) {
    el.textContent = fmt(now - Date.parse(el.dataset.since));
  }
}
readSkew(); tick();
setInterval(tick, 1000);

// Actions: one dialog, its fields chosen by the action.
live.addEventListener("click", (e) => {
  const button = e.target.closest("button[data-action]");
  if (!button) return;
  const card = button.closest("[data-incident], [data-kiosk]"); // an incident, or a kiosk's own action
  open(button.dataset.action, card.dataset.kiosk, card.dataset.incident || "", card);
});
function open(action, kiosk, incident, card) {
  form.reset();
  form.elements.name.value = action;
  form.elements.kiosk.value = kiosk;
  form.elements.incident.value = incident;
  form.elements.operator.value = operator.value.trim();
  for (const fs of form.querySelectorAll("fieldset")) fs.hidden = fs.dataset.for !== action;
  for (const el of form.querySelectorAll("fieldset textarea")) el.required = el.closest("fieldset").dataset.for === action;
  document.getElementById("act-title").textContent = titles[action] || action;
  document.getElementById("act-target").textContent = incident ? kiosk + " · " + incident : kiosk;
  document.getElementById("act-error").textContent = "";
  if (action === "upload_clip") prefillClip(card);
  dialog.showModal();
  (form.querySelector("fieldset:not([hidden]) textarea, fieldset:not([hidden]) input") || form.elements.operator).focus();
}
// The clip to ask for: the latest clip reference the incident's events carry.
function prefillClip(card) {
  const refs = [...card.querySelectorAll(".field.ref")].reverse();
  for (const f of refs) {
    const key = f.querySelector("dt").textContent, value = f.querySelector("dd").textContent.trim();
    if (/clip/i.test(key) && /(^|\.)(id|clip)$/i.test(key) && value) { form.elements.clip.value = value; break; }
  }
  const line = live.querySelector("[data-uploads]");
  if (line && line.dataset.uploads === "true") {
    const incident = form.elements.incident.value, url = form.elements.url;
    const suggest = () => { url.value = location.origin + "/uploads/" + incident + "/" + (form.elements.clip.value.trim() || "clip") + ".mp4"; };
    suggest();
    form.elements.clip.oninput = suggest;
  }
}
document.getElementById("act-cancel").addEventListener("click", () => dialog.close());
form.addEventListener("submit", async (e) => {
  e.preventDefault();
  const error = document.getElementById("act-error"), send = document.getElementById("act-send");
  send.disabled = true;
  try {
    const res = await fetch("/commands", {
      method: "POST", body: new URLSearchParams(new FormData(form)),
      headers: { Accept: "application/json" },
    });
    const body = await res.json();
    if (res.ok) {
      if (form.elements.operator.value.trim() && !operator.value.trim()) {
        operator.value = form.elements.operator.value.trim();
        localStorage.setItem("station.operator", operator.value);
      }
      dialog.close(); refresh();
    } else {
      error.textContent = "发送失败 Not sent: " + (body.error || body.send_error || res.status);
    }
  } catch (err) {
    error.textContent = "发送失败 Not sent: " + err;
  } finally {
    send.disabled = false;
  }
});

// Fleet upkeep: self-tests and updates as rollouts (POST /api/rollouts).
const rolloutForm = document.getElementById("rollout-form");
const rolloutError = document.getElementById("rollout-error");
function showKind() {
  const kind = rolloutForm.elements.kind.value;
  for (const fs of rolloutForm.querySelectorAll("fieldset[data-kind]")) fs.hidden = fs.dataset.kind !== kind;
}
for (const r of rolloutForm.elements.kind) r.addEventListener("change", showKind);
rolloutForm.elements.kiosks.addEventListener("input", () => { rolloutForm.elements.scope.value = "list"; });
rolloutForm.elements.release_file.addEventListener("change", async (e) => {
  const file = e.target.files[0];
  if (file) rolloutForm.elements.release.value = await file.text();
});
async function postRollout(url, body) {
  const res = await fetch(url, {
    method: "POST", headers: { "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const answer = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(answer.error || res.status);
  refresh();
  return answer;
}
function rolloutRequest() {
  const f = rolloutForm.elements, req = { kind: f.kind.value, by: operator.value.trim() };
  if (f.scope.value === "all") req.all = true;
  else req.kiosks = f.kiosks.value.split(/[\s,]+/).filter(Boolean);
  if (req.kind === "update") {
    try { req.release = JSON.parse(f.release.value); } catch (err) { throw new Error("发布 JSON 无效 release is not JSON: " + err.message); }
    req.wave_size = Number(f.wave_size.value) || 0;
    req.allow_downgrade = f.allow_downgrade.checked;
  } else {
    req.reason = f.reason.value.trim();
  }
  return req;
}
rolloutForm.addEventListener("submit", async (e) => {
  e.preventDefault();
  rolloutError.textContent = "";
  const start = document.getElementById("rollout-start");
  start.disabled = true;
  try {
    await postRollout("/api/rollouts", rolloutRequest());
    document.getElementById("rollouts")?.scrollIntoView({ behavior: "smooth" });
  } catch (err) {
    rolloutError.textContent = "未开始 Not started: " + err.message;
  } finally {
    start.disabled = false;
  }
});
live.addEventListener("click", async (e) => {
  const test = e.target.closest("button[data-selftest]"), pick = e.target.closest("button[data-pick]");
  const action = e.target.closest("button[data-rollout-action]");
  try {
    if (test) await postRollout("/api/rollouts", { kind: "self_test", kiosks: [test.dataset.selftest], by: operator.value.trim() });
    if (action) await postRollout("/api/rollouts/" + action.closest("[data-rollout]").dataset.rollout + "/" + action.dataset.rolloutAction);
  } catch (err) {
    alert("失败 Failed: " + err.message);
  }
  if (pick) {
    const list = rolloutForm.elements.kiosks, ids = list.value.split(/[\s,]+/).filter(Boolean);
    if (!ids.includes(pick.dataset.pick)) ids.push(pick.dataset.pick);
    list.value = ids.join(", ");
    rolloutForm.elements.scope.value = "list";
    document.getElementById("ops").open = true;
  }
});
