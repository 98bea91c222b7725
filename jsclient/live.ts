// Live queries: a page holds a query by subscribing to the instance's live
// stream (echorpc/topic's Live.Serve, registered as "live") with the
// query's name, and refetches it on each of the stream's items. query.ts
// builds on it: live (the plain client) and liveQueries (TanStack). The
// stream is a stream like any other, so it rides the page's shared
// connection (channel.ts) where there is one.
import type { Client } from "./wrpc.js";

/** An item of the live stream (echorpc/topic's Invalidation). */
interface Invalidation {
  query: string;
  /** The first item of a subscription that does not resume one. */
  start?: true;
  /** Invalidations may have been lost (the log did not reach back): refetch. */
  gap?: true;
}

/** How the page learns of a held query's items: first is the first start item of the hold, the only item that is not a change. */
export type Changed = (first: boolean) => void;

/**
 * Holds query on client's instance until signal aborts: subscribes to the
 * stream fn ("live") with {query} and calls changed for each of its items:
 * with first true for the first item of the hold (the page holds the query
 * from then on), false for every invalidation, gap and new subscription
 * after it (a subscription that could not resume may have missed some).
 * A dropped stream resumes after its last id (the stream's resume), and a
 * stream that ends or fails on the way (status 0, 429, 5xx) is opened
 * again after a backoff that grows to 30 s. It rejects with the WrpcError
 * of a refusal (404: no such query, or no live stream; 401, 403: the page
 * may not call the query) and resolves when signal aborts.
 */
export async function hold(client: Client, fn: string, query: string, changed: Changed, signal: AbortSignal): Promise<void> {
  let held = false;
  for (let tries = 0; !signal.aborted; tries++) {
    try {
      for await (const item of client.stream(fn, { query }, { signal, resume: true }) as AsyncIterable<Invalidation>) {
        changed(!held && !!item.start);
        held = true;
        tries = 0;
      }
    } catch (err: any) {
      const status = err?.status;
      if (status && status != 429 && status < 500) throw err;
    }
    if (signal.aborted) return;
    const wait = Math.min(30000, 500 * 2 ** tries) * (0.5 + Math.random() / 2);
    await new Promise((resolve) => {
      const timer = setTimeout(resolve, wait);
      signal.addEventListener("abort", () => (clearTimeout(timer), resolve(undefined)), { once: true });
    });
  }
}
