// Unit tests of the bundled ES module against the real echorpc middleware.
import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import { wrpc, weerpc, call, createClient, WrpcError } from "../../build/dist/client.mjs";
import { startServer } from "./server.mjs";

let server, base;
before(async () => {
  server = await startServer();
  base = server.url;
});
after(() => server.stop());

const rejects = async (promise, expect) => {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof WrpcError, `not a WrpcError: ${err}`);
    assert.equal(err.name, "WrpcError");
    for (const [k, v] of Object.entries(expect)) {
      if (v instanceof RegExp) assert.match(err[k], v, k);
      else assert.deepEqual(err[k], v, k);
    }
    return err;
  }
  assert.fail("the call did not reject");
};

describe("wrpc body builder", () => {
  const cases = [
    ["1.1 by default", ["add_numbers", [1, 2, 3]], '{"weerpc":1.1,"function":"add_numbers","data":[1,2,3]}'],
    ["1.1 explicit", ["f", { a: 1 }, 1.1], '{"weerpc":1.1,"function":"f","data":{"a":1}}'],
    ["1.1 as a string", ["f", 0, "1.1"], '{"weerpc":1.1,"function":"f","data":0}'],
    ["1.0", ["add_numbers", [1, 2, 3], 1.0], '{"wrpc":1.0,"function":"add_numbers","data":[1,2,3]}'],
    ["1.0 as a string", ["f", "", "1.0"], '{"wrpc":1.0,"function":"f","data":""}'],
    ["undefined data is null", ["f"], '{"weerpc":1.1,"function":"f","data":null}'],
    ["names are escaped", ['a"b', false], '{"weerpc":1.1,"function":"a\\"b","data":false}'],
  ];
  for (const [name, args, want] of cases) {
    test(name, () => assert.equal(wrpc(...args), want));
  }
  test("other versions throw", () => {
    assert.throws(() => wrpc("f", 1, 2), /unknown weeRPC version 2/);
    assert.throws(() => wrpc("f", 1, "1.2"), /unknown weeRPC version 1.2/);
  });
  test("weerpc is wrpc", () => assert.equal(weerpc, wrpc));
  test("Flask-RPC style fetch works unchanged", async () => {
    const res = await fetch(`${base}/rpc/tester`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: wrpc("add_numbers", [1, 2, 3]),
    });
    assert.deepEqual(await res.json(), { weerpc: 1.1, ok: true, message: null, data: 6 });
  });
});

describe("call", () => {
  test("success", async () => {
    assert.equal(await call("add_numbers", [1, 2, 3], { endpoint: `${base}/rpc/tester` }), 6);
  });
  test("success in 1.0", async () => {
    assert.deepEqual(await call("echo", [0, ""], { endpoint: `${base}/rpc/tester`, version: 1.0 }), [0, ""]);
  });
  test("application failure", () =>
    rejects(call("fail", 1, { endpoint: `${base}/rpc/tester` }), { message: "Invalid data type.", status: 200, data: { data: "list" }, function: "fail" }));
  test("404 invalid function", () =>
    rejects(call("nope", 1, { endpoint: `${base}/rpc/tester` }), { message: "Invalid function.", status: 404, data: null, function: "nope" }));
  test("400 invalid data", () =>
    rejects(call("add_numbers", "x", { endpoint: `${base}/rpc/tester` }), { message: /^Invalid data: /, status: 400 }));
  test("401 unauthorized", () => rejects(call("secret", 1, { endpoint: `${base}/rpc/tester` }), { message: "Unauthorized.", status: 401 }));
  test("500 internal error", () => rejects(call("boom", 1, { endpoint: `${base}/rpc/tester` }), { message: "Internal error.", status: 500 }));
  test("HTML reply", () => rejects(call("f", 1, { endpoint: `${base}/html` }), { message: "The reply is not a weeRPC envelope (HTTP 502).", status: 502 }));
  test("JSON that is not an envelope", () =>
    rejects(call("f", 1, { endpoint: `${base}/plain-json` }), { message: "The reply is not a weeRPC envelope (HTTP 200).", status: 200 }));
  test("network failure", () => rejects(call("f", 1, { endpoint: "http://127.0.0.1:9/rpc" }), { message: /network error/, status: 0 }));
  test("no endpoint", () => rejects(call("f", 1), { message: /No endpoint/, status: 0 }));
  test("abort", async () => {
    const ctl = new AbortController();
    const p = call("sleep", 5000, { endpoint: `${base}/rpc/tester`, signal: ctl.signal });
    setTimeout(() => ctl.abort(), 20);
    await rejects(p, { message: "Call to sleep aborted.", status: 0, function: "sleep" });
  });
  test("timeout", async () => {
    const started = Date.now();
    await rejects(call("sleep", 5000, { endpoint: `${base}/rpc/tester`, timeout: 50 }), { message: "Call to sleep timed out after 50 ms.", status: 0 });
    assert.ok(Date.now() - started < 2000);
  });
  test("the timeout travels as the deadline header", async () => {
    assert.equal(await call("deadline", null, { endpoint: `${base}/rpc/tester`, timeout: 1500 }), "1500");
    assert.equal(await call("deadline", null, { endpoint: `${base}/rpc/tester` }), "");
  });
  test("extra headers", async () => {
    assert.equal(await call("deadline", null, { endpoint: `${base}/rpc/tester`, headers: { "Wrpc-Timeout-Ms": "77" } }), "77");
  });
});

describe("createClient", () => {
  test("calls its endpoint", async () => {
    const tester = createClient(`${base}/rpc/tester`);
    assert.equal(tester.endpoint, `${base}/rpc/tester`);
    assert.equal(await tester.call("add_numbers", [4, 5]), 9);
    await rejects(tester.call("nope", null), { status: 404 });
  });
  test("defaults apply to every call", async () => {
    const tester = createClient(`${base}/rpc/tester`, { timeout: 2500 });
    assert.equal(await tester.call("deadline", null), "2500");
  });
});

// Counts the requests fetch sends while fn runs.
async function countingFetch(fn) {
  const real = globalThis.fetch;
  const bodies = [];
  globalThis.fetch = (url, init) => {
    if (init && init.method === "POST") bodies.push(init.body);
    return real(url, init);
  };
  try {
    await fn();
  } finally {
    globalThis.fetch = real;
  }
  return bodies;
}

describe("batching", () => {
  test("calls in one tick go in one request, each settled on its own", async () => {
    const api = createClient(`${base}/rpc/tester`, { batch: true });
    let results;
    const bodies = await countingFetch(async () => {
      results = await Promise.allSettled([api.call("add_numbers", [1, 2]), api.call("nope", 1), api.call("echo", "x"), api.call("fail", 1)]);
    });
    assert.equal(bodies.length, 1);
    assert.ok(bodies[0].startsWith("["));
    assert.equal(results[0].value, 3);
    assert.equal(results[1].reason.status, 404);
    assert.equal(results[1].reason.message, "Invalid function.");
    assert.equal(results[2].value, "x");
    assert.equal(results[3].reason.status, 200);
    assert.deepEqual(results[3].reason.data, { data: "list" });
  });
  test("batches are cut at the maximum", async () => {
    const api = createClient(`${base}/rpc/tester`, { batch: { max: 2 } });
    let results;
    const bodies = await countingFetch(async () => {
      results = await Promise.all([1, 2, 3, 4, 5].map((n) => api.call("add_numbers", [n])));
    });
    assert.deepEqual(results, [1, 2, 3, 4, 5]);
    assert.equal(bodies.length, 3);
  });
  test("a call can opt out", async () => {
    const api = createClient(`${base}/rpc/tester`, { batch: true });
    const bodies = await countingFetch(() => Promise.all([api.call("echo", 1), api.call("echo", 2, { batch: false })]));
    assert.equal(bodies.length, 2);
    assert.ok(bodies.every((b) => b.startsWith("{")));
  });
  test("a lone call is sent as a single call", async () => {
    const api = createClient(`${base}/rpc/tester`, { batch: true });
    const bodies = await countingFetch(async () => assert.equal(await api.call("echo", 1), 1));
    assert.deepEqual(bodies, ['{"weerpc":1.1,"function":"echo","data":1}']);
  });
  test("a server without batching fails each call clearly", async () => {
    const api = createClient(`${base}/rpc/nobatch`, { batch: true });
    const results = await Promise.allSettled([api.call("echo", 1), api.call("echo", 2)]);
    for (const r of results) {
      assert.equal(r.reason.status, 400);
      assert.equal(r.reason.message, "Request must be a JSON object.");
    }
  });
});

describe("retries", () => {
  const tries = async (id) => Number(await (await fetch(`${base}/flaky-count?id=${id}`)).text());
  test("an idempotent function (from the manifest) is retried", async () => {
    const api = createClient(`${base}/rpc/flaky`, { manifest: true, retry: { base: 1, max: 5 } });
    assert.equal(await api.call("read", "r", { headers: { "X-Call-Id": "read-1" } }), "r");
    assert.equal(await tries("read-1"), 3);
  });
  test("any other function is sent once", async () => {
    const api = createClient(`${base}/rpc/flaky`, { manifest: true, retry: { base: 1, max: 5 } });
    await rejects(api.call("write", "w", { headers: { "X-Call-Id": "write-1" } }), { status: 503 });
    assert.equal(await tries("write-1"), 1);
  });
  test("the caller can declare one call idempotent", async () => {
    assert.equal(await call("write", "w", { endpoint: `${base}/rpc/flaky`, idempotent: true, retry: { base: 1 }, headers: { "X-Call-Id": "write-2" } }), "w");
    assert.equal(await tries("write-2"), 3);
  });
  test("attempts are bounded", async () => {
    await rejects(call("read", "r", { endpoint: `${base}/rpc/flaky`, idempotent: true, retry: { attempts: 2, base: 1 }, headers: { "X-Call-Id": "read-2" } }), {
      status: 503,
    });
    assert.equal(await tries("read-2"), 2);
  });
  test("retry: false turns them off", async () => {
    await rejects(call("read", "r", { endpoint: `${base}/rpc/flaky`, idempotent: true, retry: false, headers: { "X-Call-Id": "read-3" } }), { status: 503 });
    assert.equal(await tries("read-3"), 1);
  });
});
