import type { batcher } from "./batch.js";
import type { download, upload } from "./files.js";
import type { queryURL } from "./geturl.js";
import type { stream } from "./stream.js";
export declare const addOns: {
    batcher?: typeof batcher;
    stream?: typeof stream;
    upload?: typeof upload;
    download?: typeof download;
    queryURL?: typeof queryURL;
};
