// A small XMLHttpRequest for Node (which has none), over node:http, for
// the tests of the client's XHR upload path: what the client uses of it
// (open, setRequestHeader, send of a FormData, upload.onprogress, onload,
// onerror, ontimeout, onabort, abort, status, responseText,
// getResponseHeader, timeout). It encodes the FormData as fetch would (with
// Response) and writes it in 64 KiB chunks, reporting each one once Node
// has taken it, so a large upload reports progress as it goes.
import http from "node:http";

const chunk = 64 << 10;

export class XMLHttpRequest {
  upload = {};
  status = 0;
  responseText = "";
  timeout = 0;
  withCredentials = false;
  #method = "GET";
  #url = "";
  #headers = {};
  #request;
  #response;
  #done = false;

  open(method, url) {
    this.#method = method;
    this.#url = url;
  }
  setRequestHeader(name, value) {
    this.#headers[name] = value;
  }
  getResponseHeader(name) {
    return this.#response?.headers[name.toLowerCase()] ?? null;
  }
  // finish calls the handler of one outcome, once.
  #finish(handler) {
    if (this.#done) return;
    this.#done = true;
    this[handler]?.();
  }
  async send(body) {
    const encoded = new Response(body);
    const bytes = new Uint8Array(await encoded.arrayBuffer());
    const headers = { ...this.#headers, "Content-Type": encoded.headers.get("Content-Type"), "Content-Length": bytes.length };
    const req = (this.#request = http.request(this.#url, { method: this.#method, headers }));
    if (this.timeout) req.setTimeout(this.timeout, () => (req.destroy(), this.#finish("ontimeout")));
    req.on("error", () => this.#finish("onerror"));
    req.on("response", (res) => {
      this.#response = res;
      const parts = [];
      res.on("data", (b) => parts.push(b));
      res.on("end", () => {
        this.status = res.statusCode;
        this.responseText = Buffer.concat(parts).toString();
        this.#finish("onload");
      });
    });
    for (let sent = 0; sent < bytes.length && !this.#done; ) {
      const part = bytes.subarray(sent, sent + chunk);
      await new Promise((resolve) => req.write(part, resolve));
      sent += part.length;
      this.upload.onprogress?.({ loaded: sent, total: bytes.length, lengthComputable: true });
    }
    req.end();
  }
  abort() {
    this.#request?.destroy();
    this.#finish("onabort");
  }
}
