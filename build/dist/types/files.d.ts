import { type Reply } from "./http.js";
import { type CallOptions } from "./wrpc.js";
/** How much of a body went: bytes so far, and in all (0 when unknown). */
export interface Progress {
    loaded: number;
    total: number;
}
/** A downloaded file: a Blob with the name that the server's Content-Disposition gave ("" for none). */
export type Download = Blob & {
    name: string;
};
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
export declare function upload(url: string, fn: string, data: unknown, options: CallOptions): (() => Promise<Reply>) | undefined;
/**
 * Calls fn, a function that answers with a file, at its own URL (POST
 * endpoint/fn with data as JSON) and resolves to the file: a Blob with its
 * name from Content-Disposition. Rejects with a WrpcError as a call does;
 * a JSON envelope instead of a file is its error. onDownloadProgress is
 * told of the bytes read. Retries as a call does.
 */
export declare function download(fn: string, data?: unknown, options?: CallOptions): Promise<Download>;
/** Saves file (a Blob, with its name) as the browser saves a download, through an <a download> link. */
export declare function save(file: Blob, name?: string): void;
