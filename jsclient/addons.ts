// The parts of createClient's clients that live in modules of their own:
// batching (batch.ts), the stream method (stream.ts), files (files.ts:
// multipart uploads and the download method), and GET for queries
// (geturl.ts). The builds'
// entries (global.ts, module.ts) set them, so both builds hold both.
// createClient does not import them, so that the plain-call core (wrpc,
// call, createClient: single calls, with retries, the manifest and GET for
// queries) bundled alone carries none of them; build/build_test.go holds that
// core under 2 KiB gzipped. Without them (only in such a bundle), every
// call goes alone and as a POST, data with files goes as JSON (where a Blob
// is {}), and a client's stream and download methods are missing.
import type { batcher } from "./batch.js";
import type { download, upload } from "./files.js";
import type { queryURL } from "./geturl.js";
import type { stream } from "./stream.js";

export const addOns: {
  batcher?: typeof batcher;
  stream?: typeof stream;
  upload?: typeof upload;
  download?: typeof download;
  queryURL?: typeof queryURL;
} = {};
