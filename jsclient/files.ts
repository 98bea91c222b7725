// Files in and out: a call whose data holds a File or a Blob is sent as
// one multipart/form-data POST (upload), and a function that answers with
// a file is called at its own URL and read as a Blob (download). Both are
// add-ons (see addons.ts) that the builds' entries plug in.
import { urlUnder } from "./endpoint.js";
import { settle, WrpcError } from "./error.js";
import { anySignal, endpointOf, failureReason, isEnvelope, requestHeaders, retryAfter, retrying, send, skewHeader, tellNewVersion, type Reply } from "./http.js";
import { wrpc, type CallOptions } from "./wrpc.js";

/** How much of a body went: bytes so far, and in all (0 when unknown). */
export interface Progress {
  loaded: number;
  total: number;
}

/** A downloaded file: a Blob with the name that the server's Content-Disposition gave ("" for none). */
export type Download = Blob & { name: string };

/**
 * Returns a sender of the call of fn with data, as one multipart/form-data
 * POST to url, when data holds a File or a Blob (in plain objects and
 * arrays, at any depth); undefined when it holds none. The first part,
 * "envelope", is the call's envelope, where the i-th file is
 * {"$file": "f<i>"}; each file follows as the part f<i>, with its name.
 * With XMLHttpRequest (browsers) the upload reports onUploadProgress and
 * the signal aborts it; without (Node), it goes with fetch and reports no
 * progress. The caller never batches such a call, and retries it only when
 * it is idempotent, as any call.
 */
export function upload(url: string, fn: string, data: unknown, options: CallOptions): (() => Promise<Reply>) | undefined {
  const files: Blob[] = [];
  // swap returns x with each Blob in it replaced by its reference
  const swap = (x: any): any => {
    if (typeof Blob == "function" && x instanceof Blob) return { $file: "f" + (files.push(x) - 1) }; // a context may have no Blob
    if (Array.isArray(x)) return x.map(swap);
    if (x?.constructor !== Object) return x; // a Date, a number: as JSON.stringify writes it
    return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, swap(v)]));
  };
  const swapped = swap(data);
  if (!files.length) return undefined;
  const envelope = wrpc(fn, swapped, options.version);
  const form = () => {
    const fd = new FormData();
    fd.append("envelope", envelope);
    files.forEach((f, i) => fd.append("f" + i, f, (f as File).name || "blob"));
    return fd;
  };
  // send says when there is no endpoint
  return () => (!url || typeof XMLHttpRequest == "undefined" ? send(url, "POST", form(), options) : sendXHR(url, form(), options));
}

// sendXHR posts body with XMLHttpRequest, which reports upload progress
// (fetch cannot), with the headers, credentials, signal and timeout of a
// call, and returns what came back, as send does for fetch. Credentials
// "include" sets withCredentials; "omit" cannot keep the cookies of a
// same-origin upload out, as it does with fetch.
function sendXHR(url: string, body: FormData, options: CallOptions): Promise<Reply> {
  const { timeout, signal } = options;
  return new Promise((resolve) => {
    const xhr = new XMLHttpRequest();
    const abort = () => xhr.abort();
    const finish = (reply: Reply) => {
      signal?.removeEventListener("abort", abort);
      resolve(reply);
    };
    const failed = (why: string) => () => finish({ status: 0, failure: why });
    if (signal?.aborted) return failed("aborted")();
    xhr.open("POST", url);
    for (const [name, value] of Object.entries(requestHeaders(options, false))) xhr.setRequestHeader(name, value);
    xhr.withCredentials = options.credentials == "include";
    xhr.timeout = timeout || 0;
    xhr.upload.onprogress = (e) => options.onUploadProgress?.({ loaded: e.loaded, total: e.lengthComputable ? e.total : 0 });
    xhr.onload = () => {
      let json: unknown;
      try {
        json = JSON.parse(xhr.responseText);
      } catch {} // settle reports a reply that is not JSON
      tellNewVersion(options, xhr.getResponseHeader(skewHeader));
      finish({ status: xhr.status, body: json, retryAfter: retryAfter(xhr.status, xhr.getResponseHeader("Retry-After")) });
    };
    xhr.onerror = failed("network error: the upload failed");
    xhr.ontimeout = failed(`timed out after ${timeout} ms`);
    xhr.onabort = failed("aborted");
    signal?.addEventListener("abort", abort);
    xhr.send(body);
  });
}

/**
 * Calls fn, a function that answers with a file, at its own URL (POST
 * endpoint/fn with data as JSON) and resolves to the file: a Blob with its
 * name from Content-Disposition. Rejects with a WrpcError as a call does;
 * a JSON envelope instead of a file is its error. onDownloadProgress is
 * told of the bytes read. Retries as a call does.
 */
export async function download(fn: string, data?: unknown, options: CallOptions = {}): Promise<Download> {
  const { timeout, onDownloadProgress } = options;
  const endpoint = endpointOf(options);
  const url = urlUnder(endpoint, fn);
  let file: Download | undefined;
  const fetchFile = async (): Promise<Reply> => {
    if (!endpoint) return { status: 0, failure: "has no endpoint (set options.endpoint)" };
    try {
      const response = await fetch(url, {
        method: "POST",
        headers: requestHeaders(options, true),
        body: JSON.stringify(data ?? null),
        credentials: options.credentials,
        signal: anySignal(options.signal, timeout),
      });
      tellNewVersion(options, response.headers.get(skewHeader));
      const disposition = response.headers.get("Content-Disposition");
      if (!disposition || !response.ok) {
        const body = await response.json().catch(() => undefined);
        return { status: response.status, body, retryAfter: retryAfter(response.status, response.headers.get("Retry-After")) };
      }
      const total = Number(response.headers.get("Content-Length")) || 0;
      const chunks: BlobPart[] = [];
      let loaded = 0;
      for (const reader = response.body!.getReader(); ; ) {
        const { done, value } = await reader.read();
        if (done) break;
        chunks.push(value);
        loaded += value.length;
        onDownloadProgress?.({ loaded, total });
      }
      const blob = new Blob(chunks, { type: response.headers.get("Content-Type") || "" });
      file = Object.assign(blob, { name: fileName(disposition) });
      return { status: response.status };
    } catch (err) {
      return { status: 0, failure: failureReason(err, timeout) };
    }
  };
  const reply = await retrying(fetchFile, options);
  if (file) return file;
  if (isEnvelope(reply.body) && reply.body.ok) throw new WrpcError(`${fn} answered no file: call it with call.`, reply.status, reply.body.data, fn);
  return settle(fn, reply);
}

// fileName returns the file name of a Content-Disposition header: its
// filename*=utf-8''... (percent-encoded), else its filename="..." (quoted)
// or filename=name (a token, as Go's mime.FormatMediaType writes a plain
// name), else "".
function fileName(disposition: string): string {
  const star = /filename\*=utf-8''([^;]+)/i.exec(disposition);
  if (star) return decodeURIComponent(star[1]);
  const plain = /filename=(?:"((?:[^"\\]|\\.)*)"|([^;\s"]+))/i.exec(disposition);
  return plain?.[1]?.replace(/\\(.)/g, "$1") ?? plain?.[2] ?? "";
}

/** Saves file (a Blob, with its name) as the browser saves a download, through an <a download> link. */
export function save(file: Blob, name = (file as Download).name || "download"): void {
  const a = document.createElement("a");
  a.href = URL.createObjectURL(file);
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}
