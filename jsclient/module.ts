// The ES module build: import { call, createClient } from "/rpc/tester/client.mjs".
// Served by an instance, its default endpoint is that instance.
import { addOns } from "./addons.js";
import { batcher } from "./batch.js";
import { download, save, upload } from "./files.js";
import { queryURL } from "./geturl.js";
import { stream } from "./stream.js";
import { setDefaultEndpoint } from "./wrpc.js";

export * from "./wrpc.js";
export { stream, download, save };

// clients made by createClient batch, stream, upload, download and GET queries
addOns.batcher = batcher;
addOns.stream = stream;
addOns.upload = upload;
addOns.download = download;
addOns.queryURL = queryURL;

const here = new URL(import.meta.url);
if ((here.protocol === "http:" || here.protocol === "https:") && here.pathname.endsWith("/client.mjs")) {
  setDefaultEndpoint(here.origin + here.pathname.slice(0, -"/client.mjs".length));
}
