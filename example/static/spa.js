// @ts-check
// The ES module page, as an SPA would do it: one client per instance, from
// /rpc/tester/client.mjs. The clients of /rpc/tester and /rpc/clients are typed
// with the TypeScript that the server generates from its Go handlers
// (go generate writes tester-api.d.ts and clients-api.d.ts), so a wrong name
// or input is an error in an editor or under tsc --checkJs.
import { createClient } from "/rpc/tester/client.mjs";
import { live } from "/rpc/clients/query.mjs";
import { wire, wireStreams, show } from "./ui.js";

/** @typedef {import("./tester-api").TesterAPI} TesterAPI */
/** @typedef {import("./clients-api").ClientsAPI} ClientsAPI */

// Version skew: both clients read their instance's manifest and send its
// hash with every call; a reply that says the server's functions changed
// since (a deploy) shows the reload banner, before a call fails.
const newVersion = () => document.getElementById("reload-banner")?.removeAttribute("hidden");
const tester = /** @type {import("/rpc/tester/client.mjs").Client<TesterAPI>} */ (
  createClient("/rpc/tester", { batch: true, manifest: true, onNewVersion: newVersion })
);
const clients = /** @type {import("/rpc/tester/client.mjs").Client<ClientsAPI>} */ (
  createClient("/rpc/clients", { manifest: true, onNewVersion: newVersion })
);

wire({
  tester,
  clients,
  login: createClient("/rpc/auth/login"),
  auth: createClient("/rpc/auth"),
  admin: createClient("/rpc/admin"),
  local: createClient("/rpc/local"),
  empty: createClient("/rpc/empty"),
});

// The fetch button shows batching here: two calls in one tick, one request.
document.getElementById("btn-add_numbers_fetch")?.addEventListener("click", () =>
  show("add_numbers_fetch", async () => {
    const [sum, hello] = await Promise.all([tester.call("add_numbers", [1, 2, 3]), tester.call("add_string", "batch")]);
    return { sum, hello };
  }),
);

// The live list is a live query (@echo-rpc/wrpc/query, served at
// /rpc/clients/query.mjs): live calls list once the page holds it on the
// instance's "live" stream, and again each time a create, update or delete,
// in any tab or on any instance, invalidates it. An app with TanStack Query
// uses liveQueries instead, with queryOptions(clients, "list", {}).
// Streams: client.stream returns an async iterable of the items, typed
// from the API (countdown's are numbers).
wireStreams({
  countdown: (n) => tester.stream("countdown", n),
  list: () => live(clients, "list", {}),
});
