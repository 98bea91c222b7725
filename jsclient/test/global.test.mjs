// The script build (build/dist/client.js) in a bare JavaScript context: no
// document and no DOM classes, as in a Web Worker that loads it with
// importScripts, and with a document whose current script is the client.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import vm from "node:vm";
import * as esm from "../../build/dist/client.mjs";

const code = readFileSync(new URL("../../build/dist/client.js", import.meta.url), "utf8");

// load evaluates client.js in a new context holding globals, and returns it.
const load = (globals = {}) => {
  const ctx = vm.createContext(globals);
  vm.runInContext(code, ctx, { filename: "client.js" });
  return ctx;
};

test("loads without document or HTMLScriptElement, and defines wrpc and weerpc", () => {
  const ctx = load({ self: {}, importScripts() {} });
  assert.equal(typeof ctx.wrpc, "function");
  assert.equal(ctx.weerpc, ctx.wrpc);
  assert.equal(ctx.wrpc("add_numbers", [1, 2]), '{"weerpc":1.1,"function":"add_numbers","data":[1,2]}');
  assert.equal(ctx.wrpc.weerpc, ctx.wrpc.wrpc);
});

test("the global has everything the ES module exports", () => {
  const ctx = load();
  for (const name of Object.keys(esm)) assert.equal(typeof ctx.wrpc[name], typeof esm[name], name);
});

test("without a document there is no default endpoint", async () => {
  const ctx = load();
  await assert.rejects(vm.runInContext(`wrpc.call("f", 1)`, ctx), (err) => err.name === "WrpcError" && err.status === 0 && /no endpoint/.test(err.message));
});

test("with a document, the default endpoint is the instance that served the script", async () => {
  const urls = [];
  const ctx = load({
    document: { currentScript: { src: "https://example.test/rpc/tester/client.js?v=2" } },
    fetch: async (url) => (urls.push(url), new Response('{"weerpc":1.1,"ok":true,"message":null,"data":6}', { status: 200 })),
  });
  assert.equal(await vm.runInContext(`weerpc.call("add_numbers", [1, 2, 3])`, ctx), 6);
  assert.deepEqual(urls, ["https://example.test/rpc/tester"]);
});

test("the global streams, from the instance that served the script", async () => {
  const urls = [];
  const sse = 'id: 1\ndata: {"weerpc":1.1,"ok":true,"message":null,"data":2}\n\n: ping\n\nid: 2\ndata: {"weerpc":1.1,"ok":true,"message":null,"data":1}\n\nevent: end\ndata: {"weerpc":1.1,"ok":true,"message":null,"data":null}\n\n';
  const ctx = load({
    document: { currentScript: { src: "https://example.test/rpc/tester/client.js" } },
    fetch: async (url, init) => (urls.push([url, init.headers.Accept, init.body]), new Response(sse, { status: 200, headers: { "Content-Type": "text/event-stream" } })),
    Response,
    TextDecoderStream,
    AbortController,
    AbortSignal,
  });
  const items = await vm.runInContext(`(async () => { const a = []; for await (const n of wrpc.stream("countdown", 2)) a.push(n); return a; })()`, ctx);
  assert.deepEqual([...items], [2, 1]);
  assert.deepEqual(urls, [["https://example.test/rpc/tester", "text/event-stream", '{"weerpc":1.1,"function":"countdown","data":2}']]);
});

test("the global's clients batch and stream (their add-ons are in the script)", async () => {
  const seen = [];
  const sse = 'data: {"weerpc":1.1,"ok":true,"message":null,"data":1}\n\nevent: end\ndata: {"weerpc":1.1,"ok":true,"message":null,"data":null}\n\n';
  const envelope = (data) => ({ weerpc: 1.1, ok: true, message: null, data });
  const ctx = load({
    fetch: async (url, init) => {
      seen.push(init.body);
      assert.equal(init.headers.Accept, "text/event-stream", "a batch asks for the streamed form");
      if (!init.body.startsWith("[")) return new Response(sse, { status: 200, headers: { "Content-Type": "text/event-stream" } });
      // a streamed batch: each item tagged with its index, the last first
      const items = JSON.parse(init.body).map((c, index) => `event: item\ndata: ${JSON.stringify({ ...envelope(c.data), status: 200, index })}\n\n`);
      return new Response(items.reverse().join(""), { status: 200, headers: { "Content-Type": "text/event-stream" } });
    },
    Response,
    TextDecoderStream,
    AbortController,
    AbortSignal,
    queueMicrotask,
  });
  const got = await vm.runInContext(
    `(async () => {
      const api = wrpc.createClient("https://example.test/rpc", { batch: true });
      const results = await Promise.all([api.call("echo", 1), api.call("echo", 2)]);
      for await (const n of api.stream("countdown", 1)) results.push(n);
      return results;
    })()`,
    ctx,
  );
  assert.deepEqual([...got], [1, 2, 1]);
  assert.equal(seen.length, 2);
  assert.equal(JSON.parse(seen[0]).length, 2, "the two calls went in one batch");
});
