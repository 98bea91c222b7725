// The batcher of a client: the calls made in one tick go in one request, an
// array of bodies, and each call gets its own item of the reply as soon as
// that item is done (a streamed batch: the server sends each item as a
// server-sent event tagged with its index). It only moves bytes: the
// caller's retry loop (retrying, in http.ts) settles and retries each call,
// the same way for batched and single calls.
import { post, type Envelope, type Reply } from "./http.js";
import { events } from "./stream.js";
import type { CallOptions } from "./wrpc.js";

/** Collects bodies into batches of at most max calls. */
export interface Batcher {
  /** The largest batch; 1 sends every call alone. */
  readonly max: number;
  /** Lowers max to a server's limit: the manifest's maxBatch, or a refusal's data.maxBatch; 0 (batching off) makes it 1. */
  lower(limit: number): void;
  /** Queues one call's body and resolves to its reply. */
  add(body: string): Promise<Reply>;
}

// A queued call: its body, and how to hand it its reply.
interface Queued {
  body: string;
  resolve: (reply: Reply | Promise<Reply>) => void;
}

/**
 * Returns a batcher that POSTs to endpoint with options, at most max calls
 * a batch, asking for the streamed form (Accept: text/event-stream), so
 * that each call settles as its item arrives, whatever the others take; a
 * server that answers the array (an older one) settles them all when it
 * comes. A call whose item has not come when the stream ends gets a failure
 * on the way (status 0, "was cut off"), which the retry loop retries when
 * it may. A function that sets a header or cookie (a login) cannot answer
 * in a streamed batch: the server answers its item 406, "call it alone";
 * call such a function with batch:false. When
 * the server refuses a batch whole and says its limit in the envelope's data
 * ({"maxBatch": N}: a 413 for a batch over its limit, and N = 0, a 400, on
 * an instance with batching off), the batcher keeps to that limit from then
 * on and sends the batch's calls again: in batches of N, or one by one. Any
 * other refusal of a whole batch is every call's reply.
 */
export function batcher(endpoint: string, options: CallOptions, max: number): Batcher {
  const queue: Queued[] = [];
  let size = max;
  const b: Batcher = {
    get max() {
      return size;
    },
    lower(limit) {
      size = Math.max(1, Math.min(size, limit));
    },
    add(body) {
      return new Promise((resolve) => {
        queue.push({ body, resolve });
        // the first call of a tick has the tick's calls sent once it is over
        if (queue.length == 1) queueMicrotask(() => sendAll(queue.splice(0)));
      });
    },
  };

  // sendAll sends calls in batches of at most max.
  function sendAll(calls: Queued[]) {
    for (let i = 0; i < calls.length; i += size) send(calls.slice(i, i + size));
  }

  // send posts calls, one body alone or an array of them, and hands each
  // call its reply: its item as it arrives, its item of the reply's array,
  // or the whole reply.
  async function send(calls: Queued[]) {
    if (calls.length == 1) return calls[0].resolve(post(endpoint, calls[0].body, options));
    const headers = { ...options.headers, Accept: "text/event-stream" };
    const reply = await post(endpoint, "[" + calls.map((call) => call.body).join(",") + "]", { ...options, headers });
    if (reply.events) return settleEach(calls, reply.events);
    const items = reply.body;
    const limit = statedLimit(items);
    if (limit !== undefined && limit < calls.length) {
      b.lower(limit);
      return sendAll(calls);
    }
    calls.forEach((call, i) => {
      if (!Array.isArray(items)) return call.resolve(reply);
      const item: Envelope | undefined = items[i];
      call.resolve({ status: item?.status || reply.status, body: item });
    });
  }

  return b;
}

// settleEach hands each call its item of a streamed batch as it arrives
// ("item" events, each an envelope with its status and index). A call
// whose item did not come, when the stream ends or breaks (or brings data
// that is not JSON), was cut off; a call already settled keeps its reply
// (a promise settles once).
async function settleEach(calls: Queued[], response: Response) {
  try {
    for await (const event of events(response)) {
      const item = event.body as Envelope & { index: number };
      calls[item.index]?.resolve({ status: item.status!, body: item });
    }
  } catch {}
  for (const call of calls) call.resolve({ status: 0, failure: "was cut off" });
}

// statedLimit returns the batch limit that the refusal of a whole batch
// states in its envelope's data, {"maxBatch": N} (0: batching is off), or
// undefined when it states none.
function statedLimit(body: unknown): number | undefined {
  const limit = (body as { data?: { maxBatch?: unknown } } | undefined)?.data?.maxBatch;
  return typeof limit == "number" ? limit : undefined;
}
