// Live queries (build/dist/query.mjs): live with the plain client, and
// liveQueries with a real @tanstack/query-core QueryClient, against
// internal/jstestserver's /rpc/live (a memory engine whose subscriptions
// GET /live-gap makes lose their place).
import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import { QueryClient, QueryObserver } from "@tanstack/query-core";
import { createClient, WrpcError } from "../../build/dist/client.mjs";
import { live, liveQueries, queryOptions } from "../../build/dist/query.mjs";
import { startServer } from "./server.mjs";

let server, base;
before(async () => {
  server = await startServer();
  base = server.url;
});
after(() => server.stop());

// open is how many subscriptions the server has open.
const open = async () => (await fetch(`${base}/live-open`)).json();

// eventually waits (up to 5 s) until check() is true.
async function eventually(what, check) {
  for (const end = Date.now() + 5000; !(await check()); ) {
    if (Date.now() > end) assert.fail(`${what}: not within 5 s`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

// within resolves to p's value, or fails after 5 s.
const within = (p, what) =>
  Promise.race([p, new Promise((_, reject) => setTimeout(() => reject(new Error(`${what}: not within 5 s`)), 5000))]);

describe("live", () => {
  test("yields the result, and again after each mutation that invalidates it, and after a gap", async () => {
    const api = createClient(`${base}/rpc/live`);
    const results = live(api, "count", null);
    const first = (await within(results.next(), "the first result")).value;
    assert.equal(await open(), 1, "the page holds count before its first result");

    const bumped = await api.call("bump", null);
    const second = (await within(results.next(), "after bump")).value;
    assert.equal(second.bumps, bumped);
    assert.equal(second.reads, first.reads + 1, "one more read");

    await fetch(`${base}/live-gap`);
    const third = (await within(results.next(), "after a gap")).value;
    assert.equal(third.bumps, bumped, "no mutation: refetched for the gap");
    assert.equal(third.reads, second.reads + 1);

    await results.return();
    await eventually("the subscription closes when the loop is left", async () => (await open()) == 0);
  });

  test("ends quietly when its signal aborts", async () => {
    const api = createClient(`${base}/rpc/live`);
    const stop = new AbortController();
    const seen = [];
    const done = (async () => {
      for await (const result of live(api, "count", null, { signal: stop.signal })) {
        seen.push(result);
        stop.abort();
      }
    })();
    await within(done, "the loop ends");
    assert.equal(seen.length, 1);
    await eventually("the subscription closes", async () => (await open()) == 0);
  });

  test("throws the subscription's refusal: a query the page may not call, none at all, no live stream", async () => {
    const api = createClient(`${base}/rpc/live`);
    for (const [fn, options, status] of [
      ["hidden", {}, 403],
      ["nothing", {}, 404],
      ["count", { stream: "not_live" }, 404],
    ]) {
      await assert.rejects(
        (async () => {
          for await (const _ of live(api, fn, null, options)) assert.fail(`${fn} yielded`);
        })(),
        (err) => err instanceof WrpcError && err.status == status,
        fn,
      );
    }
  });
});

describe("liveQueries", () => {
  test("refetches the active queries of a function when a mutation invalidates it, and after a gap", async () => {
    const qc = new QueryClient({ defaultOptions: { queries: { retry: false } } });
    const api = createClient(`${base}/rpc/live`);
    const other = createClient(`${base}/rpc/query`); // another instance: not held
    const stop = liveQueries(qc, api);
    const seen = [];
    const observer = new QueryObserver(qc, queryOptions(api, "count", null));
    const unsubscribe = observer.subscribe((r) => r.data && seen.push(r.data));
    await qc.fetchQuery(queryOptions(other, "add_numbers", [1, 2]));
    await eventually("the first result", () => seen.length == 1);
    await eventually("count held, and only it", async () => (await open()) == 1);

    const bumped = await api.call("bump", null);
    await eventually("refetched after bump", () => seen.at(-1).bumps == bumped);
    const reads = seen.at(-1).reads;
    await fetch(`${base}/live-gap`);
    await eventually("refetched after a gap", () => seen.at(-1).reads > reads);
    assert.equal(seen.at(-1).bumps, bumped);

    unsubscribe();
    qc.removeQueries({ queryKey: queryOptions(api, "count", null).queryKey });
    await eventually("released with the last query of count", async () => (await open()) == 0);
    stop();
  });

  test("invalidates, when it starts to hold a function, its queries fetched before", async () => {
    const qc = new QueryClient({ defaultOptions: { queries: { retry: false } } });
    const api = createClient(`${base}/rpc/live`);
    const key = queryOptions(api, "count", null).queryKey;
    await qc.fetchQuery(queryOptions(api, "count", null));
    await new Promise((resolve) => setTimeout(resolve, 5)); // its data is older than the hold
    const stop = liveQueries(qc, api);
    await eventually("stale once held", () => qc.getQueryState(key).isInvalidated);
    stop();
    await eventually("stop closes the subscription", async () => (await open()) == 0);
  });

  test("tells onError of a refusal", async () => {
    const qc = new QueryClient();
    const api = createClient(`${base}/rpc/live`);
    const refused = [];
    const stop = liveQueries(qc, api, { onError: (err, fn) => refused.push(`${fn} ${err.status}`) });
    qc.getQueryCache().build(qc, queryOptions(api, "hidden", null));
    await eventually("refused", () => refused.length == 1);
    assert.deepEqual(refused, ["hidden 403"]);
    stop();
  });
});
