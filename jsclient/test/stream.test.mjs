// Streams (wrpc.stream, client.stream) against the real echorpc middleware:
// items in order, error events, failures before the start, stopping, and
// resuming after a dropped connection.
import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import { stream, createClient, WrpcError } from "../../build/dist/client.mjs";
import { startServer } from "./server.mjs";

let server, base, tester, drop;
before(async () => {
  server = await startServer();
  base = server.url;
  tester = `${base}/rpc/tester`;
  drop = `${base}/rpc/drop`;
});
after(() => server.stop());

// collect returns the items of a stream and the error it threw, if any.
const collect = async (iterable) => {
  const items = [];
  try {
    for await (const item of iterable) items.push(item);
  } catch (err) {
    return { items, err };
  }
  return { items };
};

const state = async (key = "") => (await fetch(`${base}/stream-state?key=${key}`)).json();

// waitFor polls until check passes, or fails after 5 s.
const waitFor = async (check, what) => {
  for (const t = Date.now(); Date.now() - t < 5000; ) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.fail(`timed out waiting for ${what}`);
};

const isError = (err, expect) => {
  assert.ok(err instanceof WrpcError, `not a WrpcError: ${err}`);
  for (const [k, v] of Object.entries(expect)) {
    if (v instanceof RegExp) assert.match(err[k], v, k);
    else assert.deepEqual(err[k], v, k);
  }
};

describe("stream", () => {
  test("yields the items in order, then ends", async () => {
    assert.deepEqual(await collect(stream("countdown", 5, { endpoint: tester })), { items: [5, 4, 3, 2, 1] });
    assert.deepEqual(await collect(stream("countdown", 0, { endpoint: tester })), { items: [] });
  });

  test("the 1.0 dialect", async () => {
    assert.deepEqual(await collect(stream("countdown", 2, { endpoint: tester, version: 1.0 })), { items: [2, 1] });
  });

  test("through a client, with its defaults", async () => {
    const client = createClient(tester, { headers: { "X-Test": "1" }, timeout: 5000 });
    assert.deepEqual(await collect(client.stream("countdown", 3)), { items: [3, 2, 1] });
  });

  test("an error event throws a WrpcError with its status, after the items before it", async () => {
    const { items, err } = await collect(stream("fail_after_one", null, { endpoint: tester }));
    assert.deepEqual(items, [1]);
    isError(err, { status: 409, message: "Gone wrong.", data: { at: 1 }, function: "fail_after_one" });
  });

  test("a failure before the start throws the reply's WrpcError", async () => {
    let { items, err } = await collect(stream("countdown", "x", { endpoint: tester }));
    assert.deepEqual(items, []);
    isError(err, { status: 400, message: /integer/ });
    assert.equal(err.errors[0].rule, "type");
    ({ err } = await collect(stream("nope", 1, { endpoint: tester })));
    isError(err, { status: 404, message: "Invalid function." });
    ({ err } = await collect(stream("secret", 1, { endpoint: tester })));
    isError(err, { status: 401 });
  });

  test("a streaming function cannot be called: 406", async () => {
    const client = createClient(tester);
    await assert.rejects(client.call("countdown", 3), (err) => {
      isError(err, { status: 406, message: /Accept: text\/event-stream/ });
      return true;
    });
  });

  test("a function that does not stream gives its result as the one item", async () => {
    assert.deepEqual(await collect(stream("add_numbers", [1, 2], { endpoint: tester })), { items: [3] });
  });

  test("no endpoint, no server", async () => {
    isError((await collect(stream("countdown", 1))).err, { status: 0, message: /no endpoint/ });
    isError((await collect(stream("countdown", 1, { endpoint: "http://127.0.0.1:1/rpc" }))).err, { status: 0, message: /network error/ });
  });

  test("the caller's signal ends the loop quietly, and the server's function ends", async () => {
    const before = (await state()).ended;
    const c = new AbortController();
    const items = [];
    for await (const item of stream("forever", null, { endpoint: tester, signal: c.signal })) {
      items.push(item);
      if (items.length == 3) c.abort();
    }
    assert.equal(items.length, 3);
    await waitFor(async () => (await state()).ended > before, "the handler to end");
  });

  test("a signal aborted before the start ends the loop at once, with no item", async () => {
    const c = new AbortController();
    c.abort();
    assert.deepEqual(await collect(stream("forever", null, { endpoint: tester, signal: c.signal })), { items: [] });
  });

  test("the caller's signal ends a wait to reconnect quietly, at once", async () => {
    const real = globalThis.fetch;
    let tries = 0;
    globalThis.fetch = async () => (tries++, new Response('{"message":"busy"}', { status: 503, headers: { "Content-Type": "application/json", "Retry-After": "60" } }));
    try {
      const c = new AbortController();
      setTimeout(() => c.abort(), 100);
      const started = Date.now();
      const got = await collect(stream("countdown", 3, { endpoint: "http://x.test/rpc", resume: true, retry: { maxElapsed: 120000 }, signal: c.signal }));
      assert.deepEqual(got, { items: [] });
      assert.ok(Date.now() - started < 1000, `ended after ${Date.now() - started} ms`);
      assert.equal(tries, 1);
    } finally {
      globalThis.fetch = real;
    }
  });

  test("a timeout still throws, beside a signal that did not abort", async () => {
    const { err } = await collect(stream("forever", null, { endpoint: tester, timeout: 200, signal: new AbortController().signal }));
    assert.ok(err instanceof WrpcError, `${err}`);
    assert.ok(err.status == 504 || (err.status == 0 && /timed out after 200 ms/.test(err.message)), `${err.status} ${err.message}`);
  });

  test("break stops it, and the server's function ends", async () => {
    const before = (await state()).ended;
    let n = 0;
    for await (const item of stream("forever", null, { endpoint: tester })) {
      assert.equal(item, "tick");
      if (++n == 2) break;
    }
    await waitFor(async () => (await state()).ended > before, "the handler to end");
  });

  test("timeout: the server's deadline ends it with a 504 error event, or the client's", async () => {
    const { items, err } = await collect(stream("forever", null, { endpoint: tester, timeout: 150 }));
    assert.ok(items.length >= 1);
    assert.ok(err instanceof WrpcError);
    assert.ok(err.status == 504 || (err.status == 0 && /timed out after 150 ms/.test(err.message)), `${err.status} ${err.message}`);
  });

  test("pings (comment lines) are skipped", async () => {
    // forever ticks every 10 ms, and /rpc/tester pings every 20 ms
    let n = 0;
    for await (const item of stream("forever", null, { endpoint: tester })) {
      assert.equal(item, "tick");
      if (++n == 10) break;
    }
  });

  test("no Last-Event-ID on the first connection, unless the caller's headers set one", async () => {
    assert.deepEqual(await collect(stream("last_id", null, { endpoint: tester })), { items: [""] });
    assert.deepEqual(await collect(stream("last_id", null, { endpoint: tester, headers: { "Last-Event-ID": "7" } })), { items: ["7"] });
  });
});

describe("resume", () => {
  test("without resume, a cut stream throws after the items before it", async () => {
    const { items, err } = await collect(stream("drop_once", { key: "noresume", n: 5 }, { endpoint: drop }));
    assert.deepEqual(items, [1, 2]);
    isError(err, { status: 0, message: /drop_once/ });
  });

  test("reconnects with the last (custom) id as Last-Event-ID and yields the rest, without duplicates", async () => {
    const { items, err } = await collect(stream("drop_once", { key: "resume", n: 5 }, { endpoint: drop, resume: true, retry: { base: 10 } }));
    assert.equal(err, undefined);
    assert.deepEqual(items, [1, 2, 3, 4, 5]);
    assert.deepEqual((await state("resume")).lastIDs, ["", "n-2"]);
  });

  test("gives up after retry.attempts tries in a row without an item", async () => {
    const { items, err } = await collect(
      stream("drop_once", { key: "always", n: 5, always: true }, { endpoint: drop, resume: true, retry: { attempts: 3, base: 10 } }),
    );
    assert.deepEqual(items, [1, 2]);
    isError(err, { status: 0, message: /drop_once/ });
    assert.deepEqual((await state("always")).lastIDs, ["", "n-2", "n-2"]);
  });

  test("retry: false never reconnects", async () => {
    const { items, err } = await collect(stream("drop_once", { key: "noretry", n: 5 }, { endpoint: drop, resume: true, retry: false }));
    assert.deepEqual(items, [1, 2]);
    isError(err, { status: 0 });
    assert.deepEqual((await state("noretry")).lastIDs, [""]);
  });

  // A server that cuts the stream after every item: each connection brings
  // an item, yet the reconnects count as tries in a row.
  test("reconnects share one retry budget across items: attempts bound them", async () => {
    const { items, err } = await collect(stream("cut_each", { key: "budget" }, { endpoint: drop, resume: true, retry: { base: 10 }, timeout: 8000 }));
    assert.deepEqual(items, [1, 2, 3]);
    isError(err, { status: 0, message: /^Call to cut_each (was cut off|network error)/ });
    assert.deepEqual((await state("budget")).lastIDs, ["", "c-1", "c-2"]);
  });

  test("reconnects share one backoff across items: a bounded count in a fixed time", async () => {
    const { items, err } = await collect(
      stream("cut_each", { key: "storm" }, { endpoint: drop, resume: true, retry: { attempts: 1000, base: 10, maxElapsed: 60000 }, timeout: 2000 }),
    );
    assert.ok(err instanceof WrpcError && /timed out/.test(err.message), `${err}`);
    const connections = (await state("storm")).lastIDs.length;
    // the waits grow 10, 20, 40... ms up to 2 s: about 9 connections in 2 s (a storm was 100s)
    assert.ok(connections >= 3 && connections <= 30, `${connections} connections in 2 s`);
    assert.ok(items.length >= connections - 1, `${items.length} items from ${connections} connections`);
  });

  test("a connection that stays up 5 s starts the budget afresh", async () => {
    // connections: cut at once, up 5.3 s, then cut at once: attempts 3 allow
    // two more after the long one, so four in all (three without the reset)
    const { items, err } = await collect(stream("cut_each", { key: "stable", upMs: [0, 5300] }, { endpoint: drop, resume: true, retry: { attempts: 3, base: 10 }, timeout: 15000 }));
    assert.deepEqual(items, [1, 2, 3, 4]);
    isError(err, { status: 0, message: /^Call to cut_each (was cut off|network error)/ });
    assert.deepEqual((await state("stable")).lastIDs, ["", "c-1", "c-2", "c-3"]);
  });

  test("an error event is not resumed", async () => {
    const { items, err } = await collect(stream("fail_after_one", null, { endpoint: tester, resume: true }));
    assert.deepEqual(items, [1]);
    isError(err, { status: 409 });
  });
});
