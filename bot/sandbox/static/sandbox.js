// The sandbox page: sends what the visitor does, and applies the changes the server pushes.
// Plain JavaScript, no build step. HTML arrives rendered (and escaped) by the server's templates.
"use strict";

const body = document.body;
const as = body.dataset.as;
let current = body.dataset.channel;

function post(path, data) {
  return fetch(path, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(Object.assign({ as: as }, data)),
  }).then((r) => r.json());
}

function toast(text) {
  const el = document.getElementById("toast");
  el.textContent = text;
  el.hidden = !text;
  clearTimeout(toast.timer);
  if (text) toast.timer = setTimeout(() => { el.hidden = true; }, 6000);
}

function answered(result) {
  if (result && result.notice) toast(result.notice);
  return result;
}

// -- times -----------------------------------------------------------------------------------

function pad(n) { return (n < 10 ? "0" : "") + n; }

function formatDate(epoch, layout) {
  const d = new Date(epoch * 1000);
  const time = d.toLocaleTimeString([], { hour: "numeric", minute: "2-digit" });
  const today = new Date();
  const sameDay = d.toDateString() === today.toDateString();
  const short = d.toLocaleDateString([], { month: "short", day: "numeric" });
  const long = d.toLocaleDateString([], { weekday: "long", month: "long", day: "numeric", year: "numeric" });
  return layout
    .replace("{date_short_pretty}", sameDay ? "Today" : short)
    .replace("{date_pretty}", sameDay ? "Today" : short)
    .replace("{date_long_pretty}", sameDay ? "Today" : long)
    .replace("{date_short}", short)
    .replace("{date_long}", long)
    .replace("{date_num}", d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()))
    .replace("{date}", d.toLocaleDateString([], { month: "long", day: "numeric", year: "numeric" }))
    .replace("{time_secs}", d.toLocaleTimeString())
    .replace("{time}", time)
    .replace("{ago}", ago(d));
}

function ago(d) {
  const minutes = Math.round((Date.now() - d.getTime()) / 60000);
  if (minutes < 1) return "just now";
  if (minutes < 60) return minutes + " min ago";
  return Math.round(minutes / 60) + " h ago";
}

function times(root) {
  root.querySelectorAll("time.slack-date[data-ts]").forEach((t) => {
    const epoch = Number(t.dataset.ts);
    if (epoch && t.dataset.format) t.textContent = formatDate(epoch, t.dataset.format);
  });
  root.querySelectorAll("time.posted").forEach((t) => {
    const d = new Date(t.getAttribute("datetime"));
    if (!isNaN(d)) {
      t.textContent = d.toLocaleTimeString([], { hour: "numeric", minute: "2-digit" });
      t.title = d.toLocaleString();
    }
  });
}

// -- conversations ---------------------------------------------------------------------------

function show(conv) {
  current = conv;
  document.querySelectorAll("section.conversation").forEach((s) => { s.hidden = s.dataset.conv !== conv; });
  document.querySelectorAll(".conv-link").forEach((a) => {
    a.classList.toggle("active", a.dataset.conv === conv);
    if (a.dataset.conv === conv) { const b = a.querySelector(".badge"); if (b) { b.hidden = true; b.textContent = ""; } }
  });
  scrollDown(conv, true);
}

function list(conv) {
  const section = document.getElementById("conv-" + conv);
  return section ? section.querySelector("[data-messages]") : null;
}

function scrollDown(conv, force) {
  const el = list(conv);
  if (!el) return;
  if (force || el.scrollHeight - el.scrollTop - el.clientHeight < 200) el.scrollTop = el.scrollHeight;
}

function fromHTML(html) {
  const t = document.createElement("template");
  t.innerHTML = html.trim();
  return t.content.firstElementChild;
}

function upsert(change) {
  const el = list(change.conv);
  if (!el) return;
  const fresh = fromHTML(change.html);
  if (!fresh) return;
  times(fresh);
  const old = document.getElementById(change.id);
  if (old) {
    old.replaceWith(fresh);
  } else {
    el.appendChild(fresh);
    if (change.conv !== current) {
      const link = document.querySelector('.conv-link[data-conv="' + change.conv + '"] .badge');
      if (link) { link.hidden = false; link.textContent = String(Number(link.textContent || 0) + 1); }
    }
    scrollDown(change.conv, fresh.classList.contains("ephemeral"));
  }
}

function apply(change) {
  if (change.op === "upsert") upsert(change);
  else if (change.op === "remove") { const el = document.getElementById(change.id); if (el) el.remove(); }
  else if (change.op === "timeline") {
    const el = document.getElementById("timeline-" + change.platform);
    if (el) { el.innerHTML = change.html; times(el); }
  } else if (change.op === "modal") setModal(change.html);
}

function setModal(html) {
  const root = document.getElementById("modal-root");
  const focused = document.activeElement && root.contains(document.activeElement);
  root.innerHTML = html;
  const first = root.querySelector("textarea, input, select");
  if (first && !focused) first.focus();
}

function refresh() {
  fetch("/sandbox/fragments?as=" + encodeURIComponent(as)).then((r) => r.json()).then((data) => {
    Object.keys(data.conversations).forEach((conv) => {
      const el = list(conv);
      if (el) { el.innerHTML = data.conversations[conv]; times(el); }
    });
    Object.keys(data.timelines).forEach((key) => apply({ op: "timeline", platform: key, html: data.timelines[key] }));
    setModal(data.modal);
  });
}

function connect() {
  const live = document.getElementById("live");
  const source = new EventSource("/sandbox/events?as=" + encodeURIComponent(as));
  let lost = false;
  source.onopen = () => {
    live.textContent = "live";
    live.className = "status on";
    if (lost) refresh();
  };
  source.onerror = () => {
    lost = true;
    live.textContent = "reconnecting…";
    live.className = "status off";
  };
  source.onmessage = (e) => apply(JSON.parse(e.data));
}

// -- what the visitor does -------------------------------------------------------------------

function formValues(form) {
  const values = {};
  form.querySelectorAll("[name*='::']").forEach((el) => {
    const [block, action] = el.name.split("::");
    values[block] = values[block] || {};
    if (el.type === "checkbox") {
      values[block][action] = values[block][action] || [];
      if (el.checked) values[block][action].push(el.value);
    } else {
      values[block][action] = el.value;
    }
  });
  return values;
}

// Slack asks first when an element carries a `confirm` object (rendered as the <template> after it),
// and sends the click only on its confirm button; Cancel, Escape or a click outside send nothing.
function confirmed(el) {
  const dialog = el.nextElementSibling;
  if (!dialog || !dialog.matches("template.confirm")) return Promise.resolve(true);
  const root = document.getElementById("confirm-root");
  return new Promise((resolve) => {
    root.replaceChildren(dialog.content.cloneNode(true));
    const overlay = root.querySelector(".confirm-overlay");
    const done = (yes) => {
      document.removeEventListener("keydown", onKey, true);
      root.replaceChildren();
      resolve(yes);
    };
    const onKey = (e) => {
      if (e.key !== "Escape") return;
      e.preventDefault();
      e.stopPropagation();  // closes this dialog only, not a modal under it
      done(false);
    };
    document.addEventListener("keydown", onKey, true);
    overlay.addEventListener("click", (e) => {
      const answer = e.target.closest("[data-answer]");
      if (answer) done(answer.dataset.answer === "yes");
      else if (e.target === overlay) done(false);
    });
    root.querySelector('[data-answer="no"]').focus();
  });
}

function act(el, value) {
  return confirmed(el).then((yes) => (yes ? send(el, value) : null));
}

function send(el, value) {
  const modal = el.closest("#modal");
  if (modal) {
    return post("/sandbox/view/action", {
      block_id: el.dataset.block, action_id: el.dataset.action, value: value, values: formValues(modal),
    }).then(answered);
  }
  const message = el.closest("article.message");
  if (!message) return Promise.resolve();
  el.classList.add("busy");
  return post("/sandbox/action", {
    channel: message.dataset.channel, ts: message.dataset.ts,
    block_id: el.dataset.block, action_id: el.dataset.action, value: value,
  }).then(answered).finally(() => el.classList.remove("busy"));
}

// Links in messages carry their address in data-url, never in href, so no way of opening one
// (a middle click, "Open in new tab") reaches X or Facebook. The sandbox's own links (a card's
// permalink, "open card") are followed here, as the same person.
function follow(link, newTab) {
  const url = new URL(link.dataset.url, location.href);
  if (url.origin !== location.origin) {
    const where = url.host || url.protocol.replace(":", "") + " addresses";
    toast("In the sandbox, links to " + where + " go nowhere: nothing leaves this machine.");
    return;
  }
  const permalink = url.pathname.match(/^\/archives\/([A-Z0-9]+)\/p(\d{7,})$/);
  if (permalink && !newTab) {
    const digits = permalink[2];
    const id = "m-" + permalink[1] + "-" + digits.slice(0, -6) + "-" + digits.slice(-6);
    if (jump(id)) return;
  }
  url.searchParams.set("as", as);
  if (newTab) window.open(url.href, "_blank", "noopener");
  else location.assign(url.href);
}

function jump(id) {
  const el = document.getElementById(id);
  const section = el && el.closest("section.conversation");
  if (!section) return false;
  show(section.dataset.conv);
  el.scrollIntoView({ block: "center" });
  el.classList.remove("flash");
  void el.offsetWidth;  // restart the highlight when the same card is opened twice
  el.classList.add("flash");
  return true;
}

document.addEventListener("auxclick", (e) => {
  const link = e.target.closest("a[data-url]");
  if (!link || e.button !== 1) return;
  e.preventDefault();
  follow(link, true);
});

document.addEventListener("click", (e) => {
  const link = e.target.closest("a.conv-link");
  if (link) { e.preventDefault(); show(link.dataset.conv); return; }
  const outside = e.target.closest("a[data-url]");
  if (outside) {
    e.preventDefault();
    follow(outside, e.ctrlKey || e.metaKey || e.shiftKey);
    return;
  }
  const close = e.target.closest("[data-close]");
  if (close) { post("/sandbox/view/close", {}).then(answered); return; }
  const button = e.target.closest("button[data-action]");
  if (button) act(button, null);
});

document.addEventListener("change", (e) => {
  const select = e.target.closest("select[data-action]");
  if (!select || select.closest("#modal")) return;  // inputs of a form are sent with Submit
  act(select, select.value).then(() => { select.selectedIndex = 0; });
});

document.addEventListener("submit", (e) => {
  const form = e.target;
  if (form.matches("[data-composer]")) {
    e.preventDefault();
    const input = form.querySelector("input[name=text]");
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    const conv = form.closest("section.conversation").dataset.conv;
    post("/sandbox/command", { channel: conv, text: text }).then(answered);
    return;
  }
  if (form.id === "modal") {
    e.preventDefault();
    form.querySelectorAll(".input-error").forEach((el) => { el.textContent = ""; });
    const submit = form.querySelector("button[type=submit]");
    if (submit) submit.disabled = true;
    post("/sandbox/view/submit", { values: formValues(form) }).then((result) => {
      answered(result);
      Object.keys(result.errors || {}).forEach((block) => {
        const el = form.querySelector('[data-error-for="' + CSS.escape(block) + '"]');
        if (el) el.textContent = result.errors[block];
        else form.querySelector(".modal-notice").textContent = result.errors[block];
      });
    }).finally(() => { if (submit) submit.disabled = false; });
  }
});

document.addEventListener("keydown", (e) => {
  if (e.key === "Escape" && document.getElementById("modal")) post("/sandbox/view/close", {});
});

times(document);
show(current);
if (location.hash) jump(location.hash.slice(1));
connect();
