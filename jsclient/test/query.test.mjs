// The TanStack Query helpers (build/dist/query.mjs) with a real
// @tanstack/query-core QueryClient, and the client's get option (GET for
// the functions the manifest marks as queries), against internal/jstestserver.
import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import { QueryClient, QueryObserver, MutationObserver, CancelledError } from "@tanstack/query-core";
import { createClient, call, WrpcError } from "../../build/dist/client.mjs";
import { queryOptions, mutationOptions, instanceKey } from "../../build/dist/query.mjs";
import { startServer } from "./server.mjs";

let server, base;
before(async () => {
  server = await startServer();
  base = server.url;
});
after(() => server.stop());

// Runs fn with fetch recorded: the method and URL of every request, and
// its init.
async function recording(fn) {
  const real = globalThis.fetch, seen = [];
  globalThis.fetch = (url, init = {}) => (seen.push({ method: init.method || "GET", url: String(url), init }), real(url, init));
  try {
    await fn(seen);
  } finally {
    globalThis.fetch = real;
  }
  return seen;
}

const newQueryClient = () => new QueryClient({ defaultOptions: { queries: { retry: false }, mutations: { retry: false } } });

describe("queryOptions", () => {
  test("the key holds the instance, the function and the data; extra options go along", () => {
    const api = createClient(`${base}/rpc/query`);
    const o = queryOptions(api, "add_numbers", [1, 2], { staleTime: 5000 });
    assert.deepEqual(o.queryKey, ["wrpc", `${base}/rpc/query`, "add_numbers", [1, 2]]);
    assert.equal(o.staleTime, 5000);
    assert.equal(typeof o.queryFn, "function");
    const other = queryOptions(createClient(`${base}/rpc/tester`), "add_numbers", [1, 2]);
    assert.notDeepEqual(other.queryKey, o.queryKey);
    assert.equal(queryOptions(api, "add_numbers", [1], { queryKey: ["mine"] }).queryKey[0], "mine");
  });

  test("the key does not depend on how the endpoint was written: a trailing slash, a fragment", async () => {
    const plain = createClient(`${base}/rpc/query`);
    for (const endpoint of [`${base}/rpc/query/`, `${base}/rpc/query//`, `${base}/rpc/query#top`, `${base}/rpc/query/#top`]) {
      const api = createClient(endpoint);
      assert.deepEqual(queryOptions(api, "add_numbers", [1]).queryKey, queryOptions(plain, "add_numbers", [1]).queryKey, endpoint);
      assert.deepEqual(mutationOptions(api, "add_numbers").mutationKey, mutationOptions(plain, "add_numbers").mutationKey, endpoint);
      assert.deepEqual(instanceKey(api), ["wrpc", `${base}/rpc/query`], endpoint);
    }
    // the query names another instance (a tenant), so it stays
    assert.deepEqual(instanceKey(createClient(`${base}/rpc/query/?tenant=a`)), ["wrpc", `${base}/rpc/query?tenant=a`]);
    assert.deepEqual(instanceKey(createClient(`${base}/rpc/query?tenant=a/`)), ["wrpc", `${base}/rpc/query?tenant=a/`]);
    assert.notDeepEqual(instanceKey(createClient(`${base}/rpc/query?tenant=a`)), instanceKey(plain));
    // one cache entry for both spellings
    const qc = newQueryClient();
    const seen = await recording(async () => {
      assert.equal(await qc.fetchQuery(queryOptions(plain, "add_numbers", [2, 3], { staleTime: Infinity })), 5);
      assert.equal(await qc.fetchQuery(queryOptions(createClient(`${base}/rpc/query/`), "add_numbers", [2, 3], { staleTime: Infinity })), 5);
    });
    assert.equal(seen.length, 1, "the second spelling is served from the cache");
    await qc.invalidateQueries({ queryKey: instanceKey(plain) });
    assert.equal(qc.getQueryState(queryOptions(plain, "add_numbers", [2, 3]).queryKey).isInvalidated, true);
  });

  test("fetchQuery calls the function, and caches by key", async () => {
    const qc = newQueryClient(), api = createClient(`${base}/rpc/query`);
    const seen = await recording(async () => {
      assert.equal(await qc.fetchQuery(queryOptions(api, "add_numbers", [1, 2, 3])), 6);
      assert.equal(await qc.fetchQuery(queryOptions(api, "add_numbers", [1, 2, 3], { staleTime: Infinity })), 6);
      assert.equal(qc.getQueryData(["wrpc", `${base}/rpc/query`, "add_numbers", [1, 2, 3]]), 6);
      assert.equal(await qc.fetchQuery(queryOptions(api, "add_numbers", [4])), 4);
    });
    assert.equal(seen.length, 2, "the second fetch of the same key comes from the cache");
    assert.deepEqual(seen.map((s) => s.method), ["POST", "POST"], "no get option: POST");
  });

  test("a QueryObserver gets the data", async () => {
    const qc = newQueryClient(), api = createClient(`${base}/rpc/query`);
    const obs = new QueryObserver(qc, queryOptions(api, "add_numbers", [2, 2]));
    const result = await new Promise((resolve) => {
      const off = obs.subscribe((r) => r.status != "pending" && (off(), resolve(r)));
    });
    assert.equal(result.status, "success");
    assert.equal(result.data, 4);
  });

  test("the error is the call's WrpcError, with its status", async () => {
    const qc = newQueryClient(), api = createClient(`${base}/rpc/query`);
    const err = await qc.fetchQuery(queryOptions(api, "add_numbers", "x")).then(
      () => assert.fail("resolved"),
      (e) => e,
    );
    assert.ok(err instanceof WrpcError, `not a WrpcError: ${err}`);
    assert.equal(err.status, 400);
    assert.equal(err.function, "add_numbers");
    assert.equal(qc.getQueryState(["wrpc", `${base}/rpc/query`, "add_numbers", "x"]).error, err);
  });

  test("cancelling the query aborts the fetch (the signal is passed through)", async () => {
    const qc = newQueryClient(), api = createClient(`${base}/rpc/query`);
    const options = queryOptions(api, "sleep", 5000);
    let err;
    const seen = await recording(async (seen) => {
      const started = Date.now();
      const p = qc.fetchQuery(options).catch((e) => (err = e));
      while (!seen.length) await new Promise((r) => setTimeout(r, 5));
      await qc.cancelQueries({ queryKey: options.queryKey });
      await p;
      assert.ok(Date.now() - started < 2000, "the query waited for the server");
    });
    assert.equal(seen.length, 1);
    assert.ok(seen[0].init.signal?.aborted, "the fetch's signal is aborted");
    assert.ok(err instanceof CancelledError, `not a CancelledError: ${err}`);
  });
});

describe("mutationOptions", () => {
  test("the key holds the instance and the function; the variables are the data", async () => {
    const qc = newQueryClient(), api = createClient(`${base}/rpc/query`);
    const o = mutationOptions(api, "add_numbers", { meta: { x: 1 } });
    assert.deepEqual(o.mutationKey, ["wrpc", `${base}/rpc/query`, "add_numbers"]);
    assert.deepEqual(o.meta, { x: 1 });
    const obs = new MutationObserver(qc, o);
    assert.equal(await obs.mutate([5, 6]), 11);
    assert.equal(obs.getCurrentResult().data, 11);
  });

  test("a failure is a WrpcError, with its status", async () => {
    const qc = newQueryClient(), api = createClient(`${base}/rpc/tester`);
    let seen;
    const obs = new MutationObserver(qc, mutationOptions(api, "fail", { onError: (e) => (seen = e) }));
    const err = await obs.mutate(1).then(
      () => assert.fail("resolved"),
      (e) => e,
    );
    assert.ok(err instanceof WrpcError);
    assert.equal(err.message, "Invalid data type.");
    assert.equal(err.status, 200);
    assert.equal(seen, err);
    assert.equal(obs.getCurrentResult().error, err);
  });
});

describe("get option", () => {
  const methods = (seen) => seen.map((s) => `${s.method} ${s.url.replace(base, "")}`);

  test("a query is a GET, with the data in the URL; other functions POST", async () => {
    const api = createClient(`${base}/rpc/query`, { manifest: true, get: true });
    await api.ready; // the manifest is read at once
    const seen = await recording(async () => {
      assert.equal(await api.call("method", { a: [1, "é &"] }), "GET");
      assert.equal(await api.call("add_numbers", [1, 2]), 3);
      assert.equal(await api.call("post_method", null), "POST");
    });
    assert.deepEqual(methods(seen), [
      `GET /rpc/query/method?data=${encodeURIComponent(JSON.stringify({ a: [1, "é &"] }))}`,
      `GET /rpc/query/add_numbers?data=${encodeURIComponent("[1,2]")}`,
      "POST /rpc/query",
    ]);
    assert.equal(seen[0].init.body, undefined);
  });

  test("the GET has the client's headers and credentials, and gets a 200 with an ETag", async () => {
    const api = createClient(`${base}/rpc/query`, { manifest: true, get: true, headers: { "X-A": "1" }, credentials: "include" });
    await api.ready;
    const real = globalThis.fetch;
    let res, init;
    globalThis.fetch = async (url, i) => ((init = i), (res = await real(url, i)), res);
    try {
      assert.equal(await api.call("add_numbers", [7]), 7);
    } finally {
      globalThis.fetch = real;
    }
    assert.equal(init.method, "GET");
    assert.equal(init.headers["X-A"], "1");
    assert.equal(init.credentials, "include");
    assert.equal(res.status, 200);
    assert.match(res.headers.get("ETag"), /^"[0-9a-f]+"$/);
    assert.equal(res.headers.get("Cache-Control"), "public, max-age=60");
  });

  test("a per-call get, and the endpoint's query", async () => {
    const api = createClient(`${base}/rpc/query?tenant=a`, { manifest: true });
    const seen = await recording(async () => {
      await api.ready;
      assert.equal(await api.call("method", 1), "POST", "get is off by default");
      assert.equal(await api.call("method", 1, { get: true }), "GET");
    });
    assert.deepEqual(methods(seen), ["POST /rpc/query?tenant=a", "GET /rpc/query/method?tenant=a&data=1"]);
  });

  test("a long URL, a name without a URL, a missing manifest and a batch fall back to POST", async () => {
    const api = createClient(`${base}/rpc/query`, { manifest: true, get: true });
    await api.ready;
    assert.equal(await api.call("method", "x".repeat(2000)), "POST", "over the default 2,000 characters");
    assert.equal(await api.call("method", "x".repeat(2000), { maxUrl: 4000 }), "GET");
    assert.equal(await api.call("method", "x".repeat(10), { maxUrl: 20 }), "POST");
    assert.equal(await api.call("dotted.method", null), "POST");
    const noManifest = createClient(`${base}/rpc/query`, { get: true });
    assert.equal(await noManifest.call("method", null), "POST");
    assert.equal(await call("method", null, { endpoint: `${base}/rpc/query`, get: true }), "POST", "a call without a client");
    const batching = createClient(`${base}/rpc/query`, { manifest: true, get: true, batch: true });
    await batching.ready;
    assert.deepEqual(await Promise.all([batching.call("method", 1), batching.call("method", 2)]), ["POST", "POST"]);
    assert.deepEqual(await Promise.all([batching.call("method", 1, { get: true }), batching.call("method", 2, { batch: false })]), ["GET", "GET"]);
  });

  test("a failed GET rejects with the envelope's WrpcError", async () => {
    const api = createClient(`${base}/rpc/query`, { manifest: true, get: true });
    await api.ready;
    const err = await api.call("add_numbers", "x").catch((e) => e);
    assert.ok(err instanceof WrpcError);
    assert.equal(err.status, 400);
    assert.ok(err.errors.length > 0 || err.data != null);
  });

  test("with get, queryOptions' queries are GETs", async () => {
    const qc = newQueryClient(), api = createClient(`${base}/rpc/query`, { manifest: true, get: true, batch: true });
    const seen = await recording(async () => {
      await api.ready;
      assert.equal(await qc.fetchQuery(queryOptions(api, "method", null)), "GET");
    });
    assert.deepEqual(methods(seen), ["GET /rpc/query/method?data=null"]);
  });
});

test("every instance serves the helpers at <prefix>/query.mjs", async () => {
  const { readFileSync } = await import("node:fs");
  const res = await fetch(`${base}/rpc/tester/query.mjs`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get("Content-Type"), /^text\/javascript/);
  const body = await res.text();
  assert.equal(body, readFileSync("build/dist/query.mjs", "utf8"));
  const helpers = await import(`data:text/javascript,${encodeURIComponent(body)}`);
  assert.deepEqual(Object.keys(helpers).sort(), ["instanceKey", "live", "liveQueries", "mutationOptions", "queryOptions"]);
  assert.equal((await fetch(`${base}/rpc/tester/query.mjs.map`)).status, 200);
});
