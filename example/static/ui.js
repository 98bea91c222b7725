// @ts-check
// The buttons of both example pages: each one calls a function and shows its
// result, or its error, in the <pre> below it.

/**
 * @typedef {{ call(fn: string, data: unknown): Promise<unknown> }} Caller
 * @typedef {{ tester: Caller, login: Caller, auth: Caller, admin: Caller, local: Caller, empty: Caller, clients: Caller }} Callers
 */

/** @param {string} id */
const $ = (id) => /** @type {HTMLInputElement} */ (document.getElementById(id));

/**
 * Shows a result or an error in out-<name>.
 * @param {string} name
 * @param {() => Promise<unknown>} run
 */
export async function show(name, run) {
  const out = $(`out-${name}`);
  out.dataset.label = name;
  out.className = "out pending";
  out.textContent = "…";
  document.querySelectorAll("[data-field-error]").forEach((el) => { el.textContent = ""; });
  try {
    const data = await run();
    out.className = "out ok";
    out.textContent = `ok: ${JSON.stringify(data)}`;
    return data;
  } catch (err) {
    out.className = "out err";
    out.textContent = describe(err);
    showFieldErrors(err);
  }
}

/**
 * Describes a failed call: "failed: <message>" when the function answered
 * ok: false (HTTP 200, an application failure such as Fail or an *echorpc.Error),
 * "error <status>: <message>" when the call was refused or broke (401, 404,
 * 500, or 0 for a network failure), then the reply's data, if any.
 * @param {unknown} err
 */
export function describe(err) {
  const e = /** @type {{ status?: number, message?: string, data?: unknown }} */ (err);
  const head = e.status === 200 ? `failed: ${e.message}` : `error ${e.status}: ${e.message}`;
  return head + (e.data == null ? "" : ` ${JSON.stringify(e.data)}`);
}

/**
 * Shows each field error of a refused call next to its field: the element
 * whose data-field-error is the error's path.
 * @param {unknown} err
 */
function showFieldErrors(err) {
  const e = /** @type {{ errors?: { path: string, message: string }[], data?: { errors?: { path: string, message: string }[] } }} */ (err);
  const errors = e.errors ?? e.data?.errors ?? [];
  for (const fe of errors) {
    const el = document.querySelector(`[data-field-error="${CSS.escape(fe.path)}"]`);
    if (el) el.textContent = fe.message;
  }
}

/** @param {string} text */
const numbers = (text) => text.split(",").map((s) => Number(s.trim()));

/**
 * Wires every button to its call.
 * @param {Callers} c
 */
export function wire(c) {
  /** @type {Record<string, () => Promise<unknown>>} */
  const actions = {
    add_numbers: () => c.tester.call("add_numbers", numbers($("numbers").value)),
    add_string: () => c.tester.call("add_string", $("name").value),
    login: () => c.login.call("login", null),
    make_admin: () => c.login.call("make_admin", null),
    session: () => c.auth.call("session", null),
    logout: () => c.auth.call("logout", null),
    list: () => c.clients.call("list", {}),
    create: () => c.clients.call("create", { name: $("client-name").value }),
    read: () => c.clients.call("read", { client_id: Number($("client-id").value) }),
    update: () => c.clients.call("update", { client_id: Number($("client-id").value), name: $("client-name").value }),
    delete: () => c.clients.call("delete", { client_id: Number($("client-id").value) }),
    add_string_auth_session: () => c.tester.call("add_string_auth_session", $("name").value),
    add_string_auth_host: () => c.tester.call("add_string_auth_host", $("name").value),
    admin_add_numbers: () => c.admin.call("add_numbers", numbers($("numbers").value)),
    local_add_numbers: () => c.local.call("add_numbers", numbers($("numbers").value)),
    empty: () => c.empty.call("anything", null),
  };
  for (const [name, run] of Object.entries(actions)) {
    $(`btn-${name}`).addEventListener("click", async () => {
      const data = /** @type {{ client_id?: number } | undefined} */ (await show(name, run));
      if (name === "create" && data && data.client_id) $("client-id").value = String(data.client_id);
    });
  }
  document.body.dataset.ready = "true";
}

/**
 * @typedef {{ client_id: number, name: string, created_at: string, updated_at: string }} ClientRow
 * @typedef {{
 *   countdown(n: number): AsyncIterable<number>,
 *   list(): AsyncIterable<ClientRow[]>,
 * }} Streams list is the live query: the clients, and again after each change
 */

/**
 * Wires the streams: the countdown button, which shows each item as it
 * comes, and the live list of clients.
 * @param {Streams} s
 */
export function wireStreams(s) {
  const out = $("out-countdown");
  $("btn-countdown").addEventListener("click", async () => {
    out.dataset.label = "countdown";
    out.className = "out pending";
    out.textContent = "…";
    /** @type {string[]} */
    const seen = [];
    try {
      for await (const n of s.countdown(5)) {
        seen.push(String(n));
        out.textContent = seen.join(" ");
      }
      seen.push("done");
      out.className = "out ok";
      out.textContent = seen.join(" ");
    } catch (err) {
      out.className = "out err";
      out.textContent = `${seen.join(" ")} ${describe(err)}`.trim();
    }
  });
  liveList(s);
}

/**
 * Keeps #live-clients in step with the clients: s.list() is a live query
 * (live from query.mjs), which yields the list once it holds it, and again
 * each time a create, update or delete, made in any tab or on any
 * instance, invalidates it (or a reconnect may have missed one). It
 * reconnects by itself; a call that fails ends it, and it is held again
 * after a pause.
 * @param {Streams} s
 */
async function liveList(s) {
  const status = $("live-status");
  const ul = $("live-clients");
  /** @param {ClientRow[]} clients */
  const render = (clients) => {
    ul.replaceChildren(...clients.map((c) => {
      const li = document.createElement("li");
      li.dataset.clientId = String(c.client_id);
      li.textContent = `${c.client_id}: ${c.name}`;
      return li;
    }));
  };
  for (;;) {
    try {
      for await (const clients of s.list()) {
        render(clients);
        status.textContent = "live";
        status.className = "live-status on";
      }
      status.textContent = "ended";
    } catch (err) {
      const e = /** @type {{ status?: number, message?: string }} */ (err);
      status.textContent = `disconnected (${e.status ?? ""} ${e.message ?? err}): retrying`;
    }
    status.className = "live-status off";
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
}
