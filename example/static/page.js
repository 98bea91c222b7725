// @ts-check
// The script-tag page: the global wrpc comes from <script src="/rpc/tester/client.js">.
import { live } from "/rpc/clients/query.mjs";
import { wire, wireStreams, show } from "./ui.js";

const wrpc = /** @type {any} */ (globalThis).wrpc;

/**
 * A caller of one instance, through wrpc.call.
 * @param {string} endpoint
 * @returns {import("./ui.js").Caller}
 */
const at = (endpoint) => ({ call: (fn, data) => wrpc.call(fn, data, { endpoint }) });

wire({
  tester: at("/rpc/tester"),
  login: at("/rpc/auth/login"),
  auth: at("/rpc/auth"),
  admin: at("/rpc/admin"),
  local: at("/rpc/local"),
  empty: at("/rpc/empty"),
  clients: at("/rpc/clients"),
});

// Streams: wrpc.stream returns an async iterable of the items. The list is
// a live query (query.mjs, the module beside client.mjs): live yields the
// clients, and again each time a write invalidates the list.
const clients = wrpc.createClient("/rpc/clients");
wireStreams({
  countdown: (n) => wrpc.stream("countdown", n, { endpoint: "/rpc/tester" }),
  list: () => live(clients, "list", {}),
});

// The same call as Flask-RPC's documentation makes it: fetch with a body from wrpc().
document.getElementById("btn-add_numbers_fetch")?.addEventListener("click", () =>
  show("add_numbers_fetch", async () => {
    const numbers = /** @type {HTMLInputElement} */ (document.getElementById("numbers")).value.split(",").map(Number);
    const res = await fetch("/rpc/tester", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: wrpc("add_numbers", numbers),
    });
    const reply = await res.json();
    if (!reply.ok) throw { status: res.status, message: reply.message, data: reply.data };
    return reply.data;
  }),
);
