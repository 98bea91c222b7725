import { stream } from "./stream.js";
export * from "./wrpc.js";
export { stream };
