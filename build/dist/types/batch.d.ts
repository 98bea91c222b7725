import { type Reply } from "./http.js";
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
export declare function batcher(endpoint: string, options: CallOptions, max: number): Batcher;
