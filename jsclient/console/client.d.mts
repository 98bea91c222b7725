// The console imports the instance's own client at run time ("./client.mjs",
// next to console.js; build/main.go keeps it external): these are its types.
export * from "../module.js";
