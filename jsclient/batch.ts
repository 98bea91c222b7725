// The batcher of a client: the calls made in one tick go in one request, an
// array of bodies, and each call gets its own item of the reply. It only
// moves bytes: the caller's retry loop (run in wrpc.ts) settles and retries
// each call, the same way for batched and single calls.

/** One reply: HTTP status (0: none came, and the JSON is why), parsed JSON, and the Retry-After of a 429 or 503 in ms. */
export type Reply = [status: number, json: any, after?: any];

/** Collects bodies into batches of at most max, sent with post. */
export interface Batcher {
  /** The largest batch; 1 sends every call alone. A refusal by the server lowers it. */
  max: number;
  /** Queues one call's body and resolves to its reply. */
  add(body: string): Promise<Reply>;
}

/**
 * Returns a batcher that sends with post. A batch the server refuses whole,
 * because it has batching off (400 "Request must be a JSON object.") or a
 * lower limit (413 "Batch has more than N calls."), is sent again one call
 * at a time, and the batcher keeps the limit for its later batches.
 */
export function batcher(post: (body: string) => Promise<Reply>, max: number): Batcher {
  let queue: [string, (r: Reply | Promise<Reply>) => void][] = [];
  const flush = () => {
    const items = queue;
    queue = [];
    for (let i = 0; i < items.length; i += b.max) send(items.slice(i, i + b.max));
  };
  const send = (items: typeof queue) => {
    const reply = post(items[1] ? `[${items.map((x) => x[0])}]` : items[0][0]);
    items.forEach(([body, resolve], i) =>
      resolve(
        // a call alone gets the reply as it is
        !items[1]
          ? reply
          : reply.then((r) => {
              const [status, json, after] = r;
              if (Array.isArray(json)) return [json[i]?.status || status, json[i], after];
              const m = json?.message;
              const n = status == 413 ? +(/^Batch has more than (\d+) /.exec(m) || [])[1] : status == 400 && m == "Request must be a JSON object." ? 1 : 0;
              if (!n) return r;
              b.max = n;
              return post(body);
            }),
      ),
    );
  };
  const b: Batcher = {
    max,
    add: (body) => new Promise((resolve) => queue.push([body, resolve]) > 1 || queueMicrotask(flush)),
  };
  return b;
}
