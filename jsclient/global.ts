// The script-tag build: <script src="/rpc/tester/client.js"> defines the
// global wrpc, the body builder with the rest of the client attached, whose
// default endpoint is the instance that served the script.
import * as client from "./wrpc";

const script = typeof document !== "undefined" ? document.currentScript : null;
if (script instanceof HTMLScriptElement && script.src) {
  client.setDefaultEndpoint(script.src.replace(/\/client\.js([?#].*)?$/, ""));
}

(globalThis as any).wrpc = Object.assign(client.wrpc, client);
