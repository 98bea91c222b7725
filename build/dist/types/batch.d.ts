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
export declare function batcher(post: (body: string) => Promise<Reply>, max: number): Batcher;
