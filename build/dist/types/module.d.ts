export * from "./wrpc";
