import { type Reply } from "./http.js";
/** One invalid field of a call's data, as the server's validation reports it in a 400's data.errors. */
export interface FieldError {
    /** Where in the data, dotted: "items.2.qty". */
    path: string;
    /** The rule that failed: "min", "required", ... */
    rule: string;
    /** The rule's parameter, if it has one: "1". */
    param?: string;
    /** What is wrong, for a person. */
    message: string;
}
/**
 * A failed call: the server said ok:false, answered something that is not a
 * weeRPC envelope (a JSON reply with a string message, like Echo's
 * {"message": "..."} errors, gives that message), or could not be reached.
 */
export declare class WrpcError extends Error {
    /** The HTTP status; 0 when there was no reply (network failure, abort, timeout). */
    status: number;
    /** The envelope's data, if any. */
    data: unknown;
    /** The function called ("" for a client's manifest). */
    function: string;
    /** The invalid fields of a 400 whose data is {errors: [...]}; empty otherwise. */
    readonly errors: FieldError[];
    constructor(message: string, status: number, data: unknown, fn: string);
}
/**
 * Returns the data of a call of fn from its reply, or throws its WrpcError:
 * when no reply came (status 0, with why), when the reply is not a weeRPC
 * envelope (with its message, if it has one), and when the envelope says
 * ok:false (with its message, data and status: a batch item's or a stream
 * event's own, else the HTTP one).
 */
export declare function settle(fn: string, reply: Reply): any;
