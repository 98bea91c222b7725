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
  test("a bad version rejects, it does not throw", async () => {
    const p = call("f", 1, { endpoint: `${base}/rpc/tester`, version: 2 });
    await assert.rejects(p, /unknown weeRPC version 2/);
    await assert.rejects(createClient(`${base}/rpc/tester`).call("f", 1, { version: 2 }), /unknown weeRPC version 2/);
  });
  test("no endpoint", () => rejects(call("f", 1), { message: "Call to f has no endpoint (set options.endpoint).", status: 0 }));
  test("abort", async () => {
    const ctl = new AbortController();
    const p = call("sleep", 5000, { endpoint: `${base}/rpc/tester`, signal: ctl.signal });
    setTimeout(() => ctl.abort(), 20);
    await rejects(p, { message: "Call to sleep aborted.", status: 0, function: "sleep" });
  });
  test("timeout", async () => {
    const started = Date.now();
    // the header gives the server a longer deadline, so that its 504 cannot come first
    const options = { endpoint: `${base}/rpc/tester`, timeout: 50, headers: { "Wrpc-Timeout-Ms": "5000" } };
    await rejects(call("sleep", 5000, options), { message: "Call to sleep timed out after 50 ms.", status: 0 });
    assert.ok(Date.now() - started < 2000);
  });
  test("the caller's headers win over the client's own", async () => {
    assert.equal(await call("deadline", null, { endpoint: `${base}/rpc/tester`, timeout: 1500, headers: { "Wrpc-Timeout-Ms": "77" } }), "77");
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
  test("an undefined per-call endpoint is the client's", async () => {
    const tester = createClient(`${base}/rpc/tester`, { batch: true });
    assert.equal(await tester.call("echo", 1, { endpoint: undefined, timeout: 1000 }), 1);
    assert.equal(await tester.call("echo", 2, { endpoint: undefined }), 2);
  });
  test("defaults apply to every call", async () => {
    const tester = createClient(`${base}/rpc/tester`, { timeout: 2500 });
    assert.equal(await tester.call("deadline", null), "2500");
  });
});

// Answers with status and body as JSON.
const json = (status, body, headers = {}) => new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json", ...headers } });

// Runs fn with fetch replaced by stub(url, init, realFetch).
async function withFetch(stub, fn) {
  const real = globalThis.fetch;
  globalThis.fetch = async (url, init) => stub(String(url), init || {}, real);
  try {
    return await fn();
  } finally {
    globalThis.fetch = real;
  }
}

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
  test("against a server without batching, the calls go again one by one, and later ones alone", async () => {
    const api = createClient(`${base}/rpc/nobatch`, { batch: true });
    let results;
    const bodies = await countingFetch(async () => {
      results = await Promise.all([api.call("echo", 1), api.call("echo", 2)]);
    });
    assert.deepEqual(results, [1, 2]);
    assert.deepEqual(bodies, ['[{"weerpc":1.1,"function":"echo","data":1},{"weerpc":1.1,"function":"echo","data":2}]', '{"weerpc":1.1,"function":"echo","data":1}', '{"weerpc":1.1,"function":"echo","data":2}']);
    const later = await countingFetch(async () => assert.deepEqual(await Promise.all([api.call("echo", 3), api.call("echo", 4)]), [3, 4]));
    assert.deepEqual(later, ['{"weerpc":1.1,"function":"echo","data":3}', '{"weerpc":1.1,"function":"echo","data":4}']);
  });
  test("a batch over the server's MaxBatch goes again in batches of its limit, and later batches keep to it", async () => {
    const api = createClient(`${base}/rpc/tester`, { batch: { max: 10 } }); // the server's MaxBatch is 5
    const seven = [1, 2, 3, 4, 5, 6, 7];
    let results;
    const bodies = await countingFetch(async () => {
      results = await Promise.all(seven.map((n) => api.call("add_numbers", [n])));
    });
    assert.deepEqual(results, seven);
    assert.deepEqual(
      bodies.map((b) => JSON.parse(b).length),
      [7, 5, 2],
    );
    const later = await countingFetch(async () => assert.deepEqual(await Promise.all(seven.map((n) => api.call("add_numbers", [n]))), seven));
    assert.deepEqual(
      later.map((b) => JSON.parse(b).length),
      [5, 2],
    );
  });
  // The limits come from the refusal's data, whatever its message says.
  test("a refusal's data.maxBatch is the limit, not its message", async () => {
    for (const [status, maxBatch, sizes] of [
      [413, 2, [5, 2, 2, 1]],
      [400, 0, [5, 1, 1, 1, 1, 1]],
    ]) {
      const sent = [];
      await withFetch(
        (url, init) => {
          const calls = JSON.parse(init.body);
          sent.push(Array.isArray(calls) ? calls.length : 1);
          if (Array.isArray(calls) && calls.length > maxBatch) return json(status, { weerpc: 1.1, ok: false, message: "Nein.", data: { maxBatch } });
          const ok = (c) => ({ weerpc: 1.1, ok: true, message: null, data: c.data });
          return json(200, Array.isArray(calls) ? calls.map(ok) : ok(calls));
        },
        async () => {
          const api = createClient("http://x.test/rpc", { batch: true });
          assert.deepEqual(await Promise.all([1, 2, 3, 4, 5].map((n) => api.call("echo", n))), [1, 2, 3, 4, 5]);
        },
      );
      assert.deepEqual(sent, sizes, `${status} with maxBatch ${maxBatch}`);
    }
  });
  test("a refusal that names the old messages but no maxBatch reaches every call", async () => {
    for (const [status, message] of [
      [413, "Batch has more than 1 calls."],
      [400, "Request must be a JSON object."],
    ]) {
      let n = 0;
      await withFetch(
        () => (n++, json(status, { weerpc: 1.1, ok: false, message, data: null })),
        async () => {
          const api = createClient("http://x.test/rpc", { batch: true });
          const results = await Promise.allSettled([api.call("echo", 1), api.call("echo", 2)]);
          for (const r of results) assert.equal(r.reason.message, message);
        },
      );
      assert.equal(n, 1, message);
    }
  });
  test("a refusal whose maxBatch the batch already keeps reaches every call, and is not sent again", async () => {
    let n = 0;
    await withFetch(
      () => (n++, json(413, { weerpc: 1.1, ok: false, message: "Batch has more than 5 calls.", data: { maxBatch: 5 } })),
      async () => {
        const api = createClient("http://x.test/rpc", { batch: true });
        const results = await Promise.allSettled([api.call("echo", 1), api.call("echo", 2)]);
        for (const r of results) assert.equal(r.reason.status, 413);
      },
    );
    assert.equal(n, 1);
  });
  test("other refusals of a whole batch reach every call", async () => {
    const api = createClient(`${base}/rpc/tester`, { batch: true });
    await withFetch(
      () => json(413, { weerpc: 1.1, ok: false, message: "Request body is too large.", data: null }),
      async () => {
        const results = await Promise.allSettled([api.call("echo", 1), api.call("echo", 2)]);
        for (const r of results) assert.equal(r.reason.message, "Request body is too large.");
      },
    );
  });
  test("the manifest's maxBatch is the limit", async () => {
    for (const [maxBatch, requests] of [[2, 3], [0, 5], [undefined, 1]]) {
      await withFetch(
        (url, init, real) => (url.endsWith("/manifest.json") ? json(200, { functions: [], maxBatch }) : real(url, init)),
        async () => {
          const api = createClient(`${base}/rpc/tester`, { batch: true, manifest: true }); // the manifest is read at once
          await api.ready;
          const bodies = await countingFetch(async () => assert.deepEqual(await Promise.all([1, 2, 3, 4, 5].map((n) => api.call("echo", n))), [1, 2, 3, 4, 5]));
          assert.equal(bodies.length, requests, `maxBatch ${maxBatch}`);
        },
      );
    }
  });
  test("per-call credentials send the call alone, with them", async () => {
    const api = createClient(`${base}/rpc/tester`, { batch: true });
    const seen = [];
    await withFetch(
      (url, init, real) => (seen.push([init.body, init.credentials]), real(url, init)),
      () => Promise.all([api.call("echo", 1), api.call("echo", 2), api.call("echo", 3, { credentials: "include" })]),
    );
    assert.deepEqual(seen, [
      ['{"weerpc":1.1,"function":"echo","data":3}', "include"],
      ['[{"weerpc":1.1,"function":"echo","data":1},{"weerpc":1.1,"function":"echo","data":2}]', undefined],
    ]);
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
  test("batched calls are retried like single ones", async () => {
    const api = createClient(`${base}/rpc/flaky`, { batch: true, headers: { "X-Call-Id": "batch-1" } });
    const results = await Promise.all([api.call("read", "a", { idempotent: true, retry: { base: 1 } }), api.call("read", "b", { idempotent: true, retry: { base: 1 } })]);
    assert.deepEqual(results, ["a", "b"]);
    assert.ok((await tries("batch-1")) >= 3);
  });
  test("a batched idempotent function (from the manifest) is retried, any other is not", async () => {
    const api = createClient(`${base}/rpc/flaky`, { batch: true, manifest: true, retry: { base: 1 }, headers: { "X-Call-Id": "batch-2" } });
    const [read, write] = await Promise.allSettled([api.call("read", "r"), api.call("write", "w")]);
    assert.equal(read.value, "r");
    assert.equal(write.reason.status, 503);
  });
  test("per-call retry options hold in a batch", async () => {
    const api = createClient(`${base}/rpc/flaky`, { batch: true, headers: { "X-Call-Id": "batch-3" } });
    const results = await Promise.allSettled([api.call("read", "a", { idempotent: true, retry: false }), api.call("read", "b", { idempotent: true, retry: false })]);
    for (const r of results) assert.equal(r.reason.status, 503);
    assert.equal(await tries("batch-3"), 1);
  });
  test("429 is retried, and Retry-After in seconds is the wait", async () => {
    let n = 0;
    const started = Date.now();
    const got = await withFetch(
      () => (++n < 2 ? json(429, { message: "Too Many Requests" }, { "Retry-After": "1" }) : json(200, { weerpc: 1.1, ok: true, message: null, data: n })),
      () => call("f", 1, { endpoint: "http://x.test/rpc", idempotent: true, retry: { base: 1 } }),
    );
    assert.equal(got, 2);
    assert.ok(Date.now() - started >= 950, `waited ${Date.now() - started} ms`);
  });
  test("a Retry-After past the retry policy's maxElapsed ends the retries", async () => {
    for (const after of ["60", new Date(Date.now() + 3600e3).toUTCString()]) {
      let n = 0;
      const started = Date.now();
      await withFetch(
        () => (n++, json(503, { message: "busy" }, { "Retry-After": after })),
        () => rejects(call("f", 1, { endpoint: "http://x.test/rpc", idempotent: true, retry: { maxElapsed: 5000 } }), { status: 503, message: "busy" }),
      );
      assert.equal(n, 1, after);
      assert.ok(Date.now() - started < 500);
    }
  });
  test("a Retry-After date in the past retries soon", async () => {
    let n = 0;
    await withFetch(
      () => (++n < 3 ? json(503, { message: "busy" }, { "Retry-After": new Date(Date.now() - 5000).toUTCString() }) : json(200, { weerpc: 1.1, ok: true, message: null, data: n })),
      async () => assert.equal(await call("f", 1, { endpoint: "http://x.test/rpc", idempotent: true, retry: { base: 1 } }), 3),
    );
  });
  test("backoff never goes under 10 ms", async () => {
    const times = [];
    await withFetch(
      () => (times.push(performance.now()), json(502, { message: "bad gateway" })),
      () => rejects(call("f", 1, { endpoint: "http://x.test/rpc", idempotent: true, retry: { attempts: 4, base: 0.001, max: 0.001 } }), { status: 502 }),
    );
    assert.equal(times.length, 4);
    for (let i = 1; i < times.length; i++) assert.ok(times[i] - times[i - 1] >= 9, `try ${i + 1} after ${times[i] - times[i - 1]} ms`);
  });
});

describe("manifest", () => {
  test("its request carries the client's headers and credentials", async () => {
    const seen = [];
    await withFetch(
      (url, init, real) => (url.endsWith("/manifest.json") && seen.push(init), real(url, init)),
      () => createClient(`${base}/rpc/flaky`, { manifest: true, headers: { "X-Call-Id": "manifest-1" }, credentials: "include" }).ready,
    );
    assert.equal(seen.length, 1);
    assert.equal(seen[0].headers["X-Call-Id"], "manifest-1");
    assert.equal(seen[0].credentials, "include");
    assert.equal(seen[0].method, "GET");
  });
  test("it is at endpoint/manifest.json, with the endpoint's query", async () => {
    const urls = [];
    await withFetch(
      (url) => (urls.push(url), json(200, { functions: [] })),
      () => Promise.all(["http://x.test/rpc", "http://x.test/rpc/", "http://x.test/rpc?tenant=a", "http://x.test/rpc/?tenant=a#top"].map((e) => createClient(e, { manifest: true }).ready)),
    );
    assert.deepEqual(urls, ["http://x.test/rpc/manifest.json", "http://x.test/rpc/manifest.json", "http://x.test/rpc/manifest.json?tenant=a", "http://x.test/rpc/manifest.json?tenant=a"]);
  });
  test("a failure rejects client.ready, and calls go on without it", async () => {
    const api = createClient(`${base}/rpc/tester`, { manifest: true }); // no manifest there
    await rejects(api.ready, { status: 404, function: "", message: `No manifest at ${base}/rpc/tester/manifest.json (HTTP 404).` });
    assert.equal(await api.call("add_numbers", [1, 2]), 3);
  });
  test("without a reply, client.ready rejects with status 0", async () => {
    const api = createClient("http://127.0.0.1:9/rpc", { manifest: true });
    await rejects(api.ready, { status: 0, message: /^No manifest at http:\/\/127.0.0.1:9\/rpc\/manifest.json \(network error: / });
  });
  test("without a failure, calls are not retried unless they say so", async () => {
    const api = createClient(`${base}/rpc/nomanifest-here`, { manifest: true, retry: { base: 1 } });
    await api.ready.catch(() => {});
    await withFetch(
      () => json(503, { message: "busy" }),
      () => rejects(api.call("read", 1), { status: 503 }),
    );
  });
  // The manifest carries "maxBatch", 0 when batching is off: /rpc/flaky has
  // Manifest on and MaxBatch 0.
  test("the server's manifest carries maxBatch", async () => {
    const m = await (await fetch(`${base}/rpc/flaky/manifest.json`)).json();
    assert.equal(m.maxBatch, 0);
  });
  test("a manifest with batching off means no batches at all", async () => {
    const api = createClient(`${base}/rpc/flaky`, { batch: true, manifest: true, headers: { "X-Call-Id": "manifest-2" } });
    await api.ready;
    const bodies = await countingFetch(() => Promise.allSettled([api.call("write", 1), api.call("write", 2)]));
    assert.ok(bodies.every((b) => b.startsWith("{")), bodies.join("\n"));
  });
  test("without the option, client.ready resolves at once", async () => {
    assert.equal(await createClient(`${base}/rpc/tester`).ready, undefined);
  });
});

describe("errors", () => {
  test("Echo's {message} errors give their message and status", async () => {
    await withFetch(
      () => json(401, { message: "missing key in request header" }),
      () => rejects(call("f", 1, { endpoint: "http://x.test/rpc" }), { message: "missing key in request header", status: 401, data: undefined, errors: [] }),
    );
  });
  test("field errors of a 400 are typed", async () => {
    const errors = [
      { path: "items.2.qty", rule: "min", param: "1", message: "items.2.qty must be at least 1" },
      { path: "name", rule: "required", message: "name is required" },
    ];
    await withFetch(
      () => json(400, { weerpc: 1.1, ok: false, message: "Invalid data.", data: { errors } }),
      () => rejects(call("f", 1, { endpoint: "http://x.test/rpc" }), { status: 400, errors, data: { errors } }),
    );
  });
  test("other failures have no field errors", async () => {
    await rejects(call("fail", 1, { endpoint: `${base}/rpc/tester` }), { errors: [] });
    const err = await rejects(call("add_numbers", "x", { endpoint: `${base}/rpc/tester` }), { status: 400 });
    assert.ok(Array.isArray(err.errors));
  });
});

describe("version skew", () => {
  test("a client that read the manifest hears once the server's functions change", async () => {
    const told = [];
    const api = createClient(`${base}/rpc/skew`, { manifest: true, onNewVersion: (hash) => told.push(hash) });
    await api.ready;
    assert.equal(await api.call("echo", 1), 1);
    assert.deepEqual(told, [], "the same description: nothing to tell");
    await api.call("deploy", null); // its reply comes before the change
    assert.equal(await api.call("echo", 2), 2);
    assert.equal(told.length, 1, "the next reply tells the new hash");
    const fresh = await (await fetch(`${base}/rpc/skew/manifest.json`)).json();
    assert.equal(told[0], fresh.hash);
  });
  test("a batching client hears it too, and so does a client given the hash it was built with", async () => {
    const told = [];
    const api = createClient(`${base}/rpc/skew`, { batch: true, description: "built-long-ago", onNewVersion: (hash) => told.push(hash) });
    assert.deepEqual(await Promise.all([api.call("echo", 1), api.call("echo", 2)]), [1, 2]);
    assert.equal(told.length, 1, "one batch, one reply");
    const plain = createClient(`${base}/rpc/skew`, { onNewVersion: (hash) => told.push(hash) });
    await plain.call("echo", 3);
    assert.equal(told.length, 1, "a client that sends no hash hears none");
  });
});
