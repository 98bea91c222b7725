export * from "./wrpc.js";
