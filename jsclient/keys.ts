// Idempotency keys: a client that read the manifest gives each call of a
// function that takes keys (declared Idempotent on the server, and not a
// query, a stream or a download) an Idempotency-Key of its own, the same on
// every retry of that call, so that the server runs it once however often
// the call is sent (see the README, "Idempotency keys"). An add-on (see
// addons.ts): a bundle of the core alone sends no key.
import type { CallOptions } from "./wrpc.js";

/** A function's flags, as the manifest gives them. */
export interface Flags {
  idempotent?: boolean;
  query?: boolean;
  stream?: boolean;
  download?: boolean;
}

/** The header, as the IETF httpapi draft names it. */
const keyHeader = "Idempotency-Key";

/**
 * Gives the call's options a new Idempotency-Key when f takes keys and the
 * call has no key of its own, and reports whether the call is keyed (a
 * keyed call goes alone: the server refuses a key on a batch). The key is
 * 128 random bits, as a quoted string (a structured-field string, as the
 * draft asks), from crypto.getRandomValues, which every page has, https or
 * not.
 */
export function keyCall(options: CallOptions, f: Flags | undefined): boolean {
  if (options.headers?.[keyHeader]) return true; // the caller's own
  if (!f?.idempotent || f.query || f.stream || f.download) return false;
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  const key = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  options.headers = { ...options.headers, [keyHeader]: `"${key}"` };
  return true;
}
