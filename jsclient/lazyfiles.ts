// Files for the script build (client.js): the walk that finds a File or a
// Blob in a call's data stays in the script, and the rest of files.ts is a
// chunk that the instance serves beside it, files.mjs, loaded with import()
// on the first call that sends or fetches a file (and kept, as import()
// keeps a module by URL). That keeps the script within its size budget
// (see build/build_test.go); the ES module (client.mjs) holds files.ts
// itself.
import { endpointOf, type Reply } from "./http.js";
import { urlUnder } from "./endpoint.js";
import type * as files from "./files.js";
import type { Download } from "./files.js";
import type { CallOptions } from "./wrpc.js";

// load imports the chunk from the instance at endpoint.
const load = (endpoint: string): Promise<typeof files> => import(urlUnder(endpoint, "files.mjs"));

// holdsFile reports whether x holds a File or a Blob, in plain objects and
// arrays at any depth, as files.ts's upload looks for them.
const holdsFile = (x: any): boolean =>
  (typeof Blob == "function" && x instanceof Blob) ||
  (Array.isArray(x) ? x.some(holdsFile) : x?.constructor === Object && Object.values(x).some(holdsFile));

/** files.ts's upload, from the chunk: a sender when data holds a file, else undefined. */
export function upload(url: string, fn: string, data: unknown, options: CallOptions): (() => Promise<Reply>) | undefined {
  if (!holdsFile(data)) return undefined;
  return () =>
    load(url).then(
      (chunk) => chunk.upload(url, fn, data, options)!(),
      (err) => ({ status: 0, failure: `network error: files.mjs did not load (${err})` }),
    );
}

/** files.ts's download, from the chunk. */
export async function download(fn: string, data?: unknown, options: CallOptions = {}): Promise<Download> {
  const endpoint = endpointOf(options); // the chunk has no default endpoint of its own
  return (await load(endpoint)).download(fn, data, { ...options, endpoint });
}

/** files.ts's save, from the chunk of the instance that served the script. */
export async function save(file: Blob, name?: string): Promise<void> {
  (await load(endpointOf({}))).save(file, name);
}
