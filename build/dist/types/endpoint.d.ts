/** Returns the URL of name (a function, or manifest.json) under endpoint, with endpoint's query: "/rpc/?a=1#top" and "f" give "/rpc/f?a=1". */
export declare const urlUnder: (endpoint: string, name: string) => string;
/** Returns endpoint without trailing slashes on its path and without its fragment: "/rpc/?a=1#top", "/rpc?a=1" and "/rpc//?a=1" give "/rpc?a=1". */
export declare const instanceOf: (endpoint: string) => string;
