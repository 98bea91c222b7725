// Files in and out, against the real echorpc middleware: uploads (a call
// whose data holds a File or a Blob goes as multipart/form-data) both ways
// the client sends them, with fetch (Node's only way) and with
// XMLHttpRequest (browsers'; here the small one of xhr.mjs), and downloads.
import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { call, createClient, download, WrpcError } from "../../build/dist/client.mjs";
import { startServer } from "./server.mjs";
import { XMLHttpRequest } from "./xhr.mjs";

let server, base;
before(async () => {
  server = await startServer();
  base = server.url;
});
after(() => server.stop());

const sha256 = (bytes) => createHash("sha256").update(bytes).digest("hex");
const png = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52, 0, 0, 0, 1, 0, 0, 0, 1, 8, 6, 0, 0, 0]);

const rejects = async (promise, expect) => {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof WrpcError, `not a WrpcError: ${err}`);
    for (const [k, v] of Object.entries(expect)) {
      if (v instanceof RegExp) assert.match(err[k], v, k);
      else assert.deepEqual(err[k], v, k);
    }
    return err;
  }
  assert.fail("the call did not reject");
};

// uploads are the upload tests, run once without XMLHttpRequest (fetch)
// and once with it.
function uploads(xhr) {
  test("a File and Blobs in objects and arrays go as parts, with their names", async () => {
    const text = "hello, files";
    const bytes = new Uint8Array(300_000).map((_, i) => i % 251);
    const data = { note: "two", file: new File([text], "hello.txt", { type: "text/plain" }), more: [new Blob([bytes])] };
    const want = {
      note: "two",
      files: [
        { name: "hello.txt", type: "text/plain", length: text.length, sha256: sha256(text) },
        { name: "blob", type: "application/octet-stream", length: bytes.length, sha256: sha256(bytes) },
      ],
    };
    assert.deepEqual(await call("upload", data, { endpoint: `${base}/rpc/files` }), want);
    assert.deepEqual(await createClient(`${base}/rpc/files`).call("upload", data), want);
  });

  test("a file call is never batched", async () => {
    const client = createClient(`${base}/rpc/files`, { batch: true, manifest: true });
    const file = new File(["x"], "x.txt", { type: "text/plain" });
    const [a, b, c] = await Promise.all([
      client.call("upload", { note: "a", file }),
      client.call("upload", { note: "b", file }),
      client.call("nope", 1).catch((err) => err.status),
    ]);
    assert.equal(a.note + b.note, "ab");
    assert.equal(a.files[0].sha256, sha256("x"));
    assert.equal(c, 404);
  });

  test("a refused type is a WrpcError with the refusal's status and data", async () => {
    const client = createClient(`${base}/rpc/files`);
    const err = await rejects(client.call("avatar", { image: new File(["not an image"], "a.png", { type: "image/png" }) }), { status: 415, function: "avatar" });
    assert.equal(err.data.limit, "Accept");
    assert.deepEqual(err.data.accept, ["image/*"]);
    const ok = await client.call("avatar", { image: new File([png], "a.png", { type: "image/png" }) });
    assert.deepEqual(ok, { name: "a.png", type: "image/png", length: png.length, sha256: sha256(png) });
  });

  test("a file call to a function without file fields is refused", () =>
    rejects(call("note", new Blob(["x"]), { endpoint: `${base}/rpc/files` }), { status: 415 }));

  test("only an idempotent file call is retried", async () => {
    const client = createClient(`${base}/rpc/flakyfiles`, { retry: { base: 10 } });
    const file = new File(["again"], "again.txt", { type: "text/plain" });
    const id = `${xhr ? "xhr" : "fetch"}-${Math.random()}`;
    const out = await client.call("upload_again", { file }, { headers: { "X-Call-Id": id }, idempotent: true });
    assert.equal(out.files[0].sha256, sha256("again"));
    assert.equal(await (await fetch(`${base}/flaky-count?id=${id}`)).text(), "3");
    const once = id + "-once";
    await rejects(client.call("upload", { file }, { headers: { "X-Call-Id": once } }), { status: 503 });
    assert.equal(await (await fetch(`${base}/flaky-count?id=${once}`)).text(), "1");
  });

  test("without an endpoint, a file call fails as any call", () =>
    rejects(call("upload", { file: new Blob(["x"]) }), { status: 0, message: "Call to upload has no endpoint (set options.endpoint)." }));

  test("the signal aborts a file call on its way", async () => {
    const abort = new AbortController();
    const big = new Blob([new Uint8Array(24 << 20)]);
    // with XMLHttpRequest at the first progress report, mid-upload; with
    // fetch (no progress) while the server takes its time to answer
    const options = { endpoint: `${base}/rpc/files`, signal: abort.signal, onUploadProgress: () => abort.abort() };
    if (!xhr) setTimeout(() => abort.abort(), 50);
    await rejects(call("slow_upload", { file: big, ms: xhr ? 0 : 5000 }, options), { status: 0, message: "Call to slow_upload aborted." });
    await rejects(call("upload", { file: big }, options), { status: 0, message: "Call to upload aborted." }); // aborted before it starts
  });
}

describe("uploads with fetch (no XMLHttpRequest, as in Node)", () => {
  before(() => assert.equal(globalThis.XMLHttpRequest, undefined));
  uploads(false);
});

describe("uploads with XMLHttpRequest", () => {
  before(() => (globalThis.XMLHttpRequest = XMLHttpRequest));
  after(() => delete globalThis.XMLHttpRequest);
  uploads(true);

  test("onUploadProgress counts the bytes sent, up to the whole body", async () => {
    const seen = [];
    const size = 1 << 20;
    await call("upload", { file: new Blob([new Uint8Array(size)]) }, { endpoint: `${base}/rpc/files`, onUploadProgress: (p) => seen.push(p) });
    assert.ok(seen.length > 2, `${seen.length} progress reports`);
    const last = seen.at(-1);
    assert.equal(last.loaded, last.total);
    assert.ok(last.total > size, `total ${last.total}`);
    for (let i = 1; i < seen.length; i++) assert.ok(seen[i].loaded >= seen[i - 1].loaded);
  });

  test("a timeout ends the upload", () => {
    // the header gives the server a longer deadline, so that its 504 cannot come first
    const options = { endpoint: `${base}/rpc/files`, timeout: 50, headers: { "Wrpc-Timeout-Ms": "5000" } };
    return rejects(call("slow_upload", { file: new Blob(["x"]), ms: 2000 }, options), { status: 0, message: "Call to slow_upload timed out after 50 ms." });
  });
});

describe("downloads", () => {
  test("the file comes as a Blob with its name and type", async () => {
    const client = createClient(`${base}/rpc/files`);
    const file = await client.download("report", { name: "résumé 1.txt", text: "hello" });
    assert.ok(file instanceof Blob);
    assert.equal(file.name, "résumé 1.txt");
    assert.match(file.type, /^text\/plain/);
    assert.equal(await file.text(), "hello");
    const plain = await download("report", { name: 'a "b".txt', text: "x" }, { endpoint: `${base}/rpc/files` });
    assert.equal(plain.name, 'a "b".txt');
  });

  test("onDownloadProgress counts the bytes read", async () => {
    const seen = [];
    const n = 3 << 20;
    const file = await download("big_report", n, { endpoint: `${base}/rpc/files`, onDownloadProgress: (p) => seen.push(p) });
    assert.equal(file.size, n);
    assert.deepEqual(seen.at(-1), { loaded: n, total: n });
  });

  test("a failure is a WrpcError, as for a call", async () => {
    const client = createClient(`${base}/rpc/files`);
    await rejects(client.download("report", { name: "a", text: "" }), { status: 200, message: "Nothing to report.", function: "report" });
    await rejects(client.download("nope", {}), { status: 404 });
    await rejects(client.download("report", "x"), { status: 400 });
    await rejects(client.download("note", "x"), { message: "note answered no file: call it with call.", data: "x" });
    await rejects(download("report", {}, { endpoint: "http://127.0.0.1:9/rpc" }), { status: 0, message: /network error/ });
    await rejects(download("report", {}), { status: 0, message: "Call to report has no endpoint (set options.endpoint)." });
  });

  test("the route refuses a download function, naming its URL", async () => {
    const err = await rejects(call("report", { name: "a", text: "x" }, { endpoint: `${base}/rpc/files` }), { status: 400 });
    assert.equal(err.data.url, "/rpc/files/report");
  });
});
