import type { Reply } from "./http.js";
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
 * Returns a batcher that sends with post, at most max calls a batch. When
 * the server refuses a batch whole and says its limit in the envelope's data
 * ({"maxBatch": N}: a 413 for a batch over its limit, and N = 0, a 400, on
 * an instance with batching off), the batcher keeps to that limit from then
 * on and sends the batch's calls again: in batches of N, or one by one. Any
 * other refusal of a whole batch is every call's reply.
 */
export declare function batcher(post: (body: string) => Promise<Reply>, max: number): Batcher;
