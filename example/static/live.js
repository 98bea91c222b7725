// @ts-check
// The live page: eight views, each a stream of /rpc/live, all over the one
// shared connection that the client opens for the instance, and a batch
// whose items settle as each is done (the client's batcher asks for the
// streamed batch).
import { createClient } from "/rpc/live/client.mjs";

const live = createClient("/rpc/live", { batch: true });

/** @param {string} id */
const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));

/**
 * Shows each item of a stream with render, for as long as the page lives;
 * a failure shows in the view, and the stream opens again a second later.
 * @param {string} view
 * @param {string} fn
 * @param {unknown} data
 * @param {(item: any) => void} render
 */
async function follow(view, fn, data, render) {
  const el = $(`live-v-${view}`);
  for (;;) {
    try {
      for await (const item of live.stream(fn, data)) {
        render(item);
        el.dataset.updates = String(Number(el.dataset.updates || 0) + 1);
      }
      return;
    } catch (err) {
      el.dataset.error = String(err);
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

/** @param {HTMLElement} el @param {string[]} lines */
function list(el, lines) {
  el.replaceChildren(...lines.map((text) => Object.assign(document.createElement("li"), { textContent: text })));
}

follow("clients", "clients", {}, (clients) => list($("live-v-clients"), clients.map((/** @type {{client_id: number, name: string}} */ c) => `${c.client_id}: ${c.name}`)));
follow("clock", "clock", {}, (t) => { $("live-v-clock").textContent = t; });
follow("counter", "counter", {}, (n) => { $("live-v-counter").textContent = String(n); });
follow("badge", "badge", {}, (n) => {
  const badge = $("live-v-badge");
  badge.textContent = String(n);
  badge.classList.toggle("zero", n == 0);
});
follow("progress", "progress", {}, (p) => {
  /** @type {HTMLProgressElement} */ ($("live-v-progress")).value = p;
  $("live-v-percent").textContent = `${p} %`;
});
follow("stats", "stats", {}, (s) => {
  const dl = $("live-v-stats");
  dl.replaceChildren(...Object.entries({ goroutines: s.goroutines, heap: `${s.heap_kib} KiB`, uptime: s.uptime }).flatMap(([k, v]) => [
    Object.assign(document.createElement("dt"), { textContent: k }),
    Object.assign(document.createElement("dd"), { textContent: String(v) }),
  ]));
});
follow("chat", "chat", {}, (m) => {
  const pane = $("live-v-chat");
  pane.append(Object.assign(document.createElement("li"), { textContent: `${m.at} ${m.from}: ${m.text}` }));
  while (pane.children.length > 30) pane.firstElementChild?.remove();
  pane.scrollTop = pane.scrollHeight;
});

// The countdown runs 10 to 1, then says done; the button runs it again.
async function countdown() {
  const el = $("live-v-countdown");
  for await (const n of live.stream("countdown", 10)) {
    el.textContent = String(n);
    el.dataset.updates = String(Number(el.dataset.updates || 0) + 1);
  }
  el.textContent = "done";
}
countdown();
$("live-btn-countdown").addEventListener("click", () => countdown());

$("live-chat-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const input = /** @type {HTMLInputElement} */ ($("live-chat-text"));
  if (input.value) live.call("say", input.value).catch((err) => { input.title = String(err); });
  input.value = "";
});

// Ten calls in one tick go as one batch; each line shows when its call
// settled, counted from the click: the nine quick ones at once, the slow
// one a second later, last.
function batch() {
  const out = $("live-v-batch");
  out.replaceChildren();
  const start = performance.now();
  const times = [1000, 10, 20, 30, 40, 50, 60, 70, 80, 90];
  return Promise.all(times.map((ms) => live.call("work", ms).then((said) => {
    const li = Object.assign(document.createElement("li"), { textContent: `work(${ms}): ${said}, settled after ${Math.round(performance.now() - start)} ms` });
    li.dataset.ms = String(ms);
    if (ms >= 1000) li.className = "slow";
    out.append(li);
  })));
}
$("live-btn-batch").addEventListener("click", () => batch());
batch();

$("live-status").textContent = "live";
document.body.dataset.ready = "true";
