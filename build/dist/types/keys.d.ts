import type { CallOptions } from "./wrpc.js";
/** A function's flags, as the manifest gives them. */
export interface Flags {
    idempotent?: boolean;
    query?: boolean;
    stream?: boolean;
    download?: boolean;
}
/**
 * Gives the call's options a new Idempotency-Key when f takes keys and the
 * call has no key of its own, and reports whether the call is keyed (a
 * keyed call goes alone: the server refuses a key on a batch). The key is
 * 128 random bits, as a quoted string (a structured-field string, as the
 * draft asks), from crypto.getRandomValues, which every page has, https or
 * not.
 */
export declare function keyCall(options: CallOptions, f: Flags | undefined): boolean;
