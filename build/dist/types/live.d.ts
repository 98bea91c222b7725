import type { Client } from "./wrpc.js";
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
export declare function hold(client: Client, fn: string, query: string, changed: Changed, signal: AbortSignal): Promise<void>;
