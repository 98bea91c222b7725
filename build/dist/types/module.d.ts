import { download, save } from "./files.js";
import { stream } from "./stream.js";
export * from "./wrpc.js";
export { stream, download, save };
