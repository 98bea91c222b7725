// The ES module build: import { call, createClient } from "/rpc/tester/client.mjs".
// Served by an instance, its default endpoint is that instance.
import { setDefaultEndpoint } from "./wrpc.js";

export * from "./wrpc.js";

const here = new URL(import.meta.url);
if ((here.protocol === "http:" || here.protocol === "https:") && here.pathname.endsWith("/client.mjs")) {
  setDefaultEndpoint(here.origin + here.pathname.slice(0, -"/client.mjs".length));
}
