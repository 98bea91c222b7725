// The ES module build: import { call, createClient } from "/rpc/tester/client.mjs".
// Served by an instance, its default endpoint is that instance.
import { addOns } from "./addons.js";
import { batcher } from "./batch.js";
import { stream } from "./stream.js";
import { setDefaultEndpoint } from "./wrpc.js";

export * from "./wrpc.js";
export { stream };

// clients made by createClient batch and stream
addOns.batcher = batcher;
addOns.stream = stream;

const here = new URL(import.meta.url);
if ((here.protocol === "http:" || here.protocol === "https:") && here.pathname.endsWith("/client.mjs")) {
  setDefaultEndpoint(here.origin + here.pathname.slice(0, -"/client.mjs".length));
}
