// The script-tag build: <script src="/rpc/tester/client.js"> defines the
// globals wrpc and weerpc (the same object: the body builder with the rest of
// the client attached), whose default endpoint is the instance that served
// the script. It also loads where there is no document, as in a Web Worker
// (importScripts), with no default endpoint.
import { addOns } from "./addons.js";
import { batcher } from "./batch.js";
import { download, save, upload } from "./lazyfiles.js";
import { queryURL } from "./geturl.js";
import { stream } from "./stream.js";
import { wrpc, call, createClient, setDefaultEndpoint, WrpcError } from "./wrpc.js";

// clients made by createClient batch, stream, upload, download and GET queries
addOns.batcher = batcher;
addOns.stream = stream;
addOns.upload = upload;
addOns.download = download;
addOns.queryURL = queryURL;

const g: any = globalThis;
const src: string | undefined = g.document?.currentScript?.src;
if (src) setDefaultEndpoint(src.replace(/\/client\.js([?#].*)?$/, ""));
g.wrpc = g.weerpc = Object.assign(wrpc, { wrpc, weerpc: wrpc, call, stream, download, save, createClient, setDefaultEndpoint, WrpcError });
