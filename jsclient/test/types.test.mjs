// The generated TypeScript types make createClient<API> check calls:
// correct use compiles, misuse does not.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";

const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
const run = (...args) => spawnSync(process.execPath, [tsc, ...args], { encoding: "utf8" });
const strict = ["--noEmit", "--strict", "--target", "ES2020", "--module", "ES2020", "--moduleResolution", "bundler", "--lib", "ES2021,DOM"];

test("correct use of the generated types compiles", () => {
  const r = run("-p", "jsclient/test/tsconfig.json");
  assert.equal(r.status, 0, r.stdout + r.stderr);
});

test("misuse of the generated types does not compile", () => {
  const r = run(...strict, "jsclient/test/types/bad.ts");
  assert.notEqual(r.status, 0);
  const errors = r.stdout.split("\n").filter((l) => l.includes("error TS"));
  assert.equal(errors.length, 7, r.stdout);
  assert.match(errors[0], /bad\.ts\(8,.*error TS2345: Argument of type '"add_numberz"' is not assignable/);
  assert.match(errors[1], /bad\.ts\(9,.*error TS2345: Argument of type 'string' is not assignable to parameter of type 'number\[\]'/);
  assert.match(errors[2], /bad\.ts\(10,.*error TS2322: Type 'number' is not assignable to type 'string'/);
  // streams: only a streaming function streams, only another is called, items are typed
  assert.match(errors[3], /bad\.ts\(20,.*error TS2345: Argument of type '"add_numbers"' is not assignable to parameter of type '"countdown"'/);
  assert.match(errors[4], /bad\.ts\(21,.*error TS2345: Argument of type '"countdown"' is not assignable to parameter of type '"add_numbers" \| /);
  assert.match(errors[5], /bad\.ts\(22,.*error TS2345: Argument of type 'string' is not assignable to parameter of type 'number'/);
  assert.match(errors[6], /bad\.ts\(24,.*error TS2322: Type 'number' is not assignable to type 'string'/);
});

test("misuse of the TanStack Query helpers does not compile", () => {
  const r = run(...strict, "jsclient/test/types/query-bad.ts");
  assert.notEqual(r.status, 0);
  const errors = r.stdout.split("\n").filter((l) => l.includes("error TS"));
  assert.equal(errors.length, 10, r.stdout);
  assert.match(errors[0], /query-bad\.ts\(13,.*error TS2345: Argument of type '"add_numberz"' is not assignable/);
  assert.match(errors[1], /query-bad\.ts\(14,.*error TS2345: Argument of type 'string' is not assignable to parameter of type 'number\[\]'/);
  assert.match(errors[2], /query-bad\.ts\(15,.*error TS2322: Type 'WrpcQueryOptions<number, "add_numbers", number\[\]>' is not assignable to type 'QueryObserverOptions<string, /);
  assert.match(errors[3], /query-bad\.ts\(16,.*error TS2322: Type 'WrpcQueryOptions<number, "add_numbers", number\[\]>' is not assignable to type 'QueryObserverOptions<number, TypeError, /);
  assert.match(errors[4], /query-bad\.ts\(17,.*error TS2345: Argument of type '"countdown"' is not assignable/);
  assert.match(errors[5], /query-bad\.ts\(18,.*error TS2345: Argument of type '"countdown"' is not assignable/);
  assert.match(errors[6], /query-bad\.ts\(19,.*error TS2345: Argument of type 'string' is not assignable to parameter of type 'number\[\]'/);
  assert.match(errors[7], /query-bad\.ts\(20,.*error TS2322: Type 'number' is not assignable to type 'string'/);
  assert.match(errors[8], /query-bad\.ts\(21,.*error TS2345: Argument of type '"countdown"' is not assignable/);
  assert.match(errors[9], /query-bad\.ts\(22,.*error TS2820: Type '"add_numberz"' is not assignable/);
});

test("the committed declarations are what tsc writes from the source", async () => {
  const { mkdtempSync, readFileSync, readdirSync } = await import("node:fs");
  const { tmpdir } = await import("node:os");
  const { join } = await import("node:path");
  const out = mkdtempSync(join(tmpdir(), "wrpc-dts-"));
  const r = run("-p", "tsconfig.json", "--outDir", out);
  assert.equal(r.status, 0, r.stdout + r.stderr);
  for (const name of readdirSync(out)) {
    assert.equal(readFileSync(join(out, name), "utf8"), readFileSync(join("build/dist/types", name), "utf8"), `build/dist/types/${name} is stale: run npm run build`);
  }
});

test("the npm package holds only what a user needs", () => {
  const r = spawnSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  const files = JSON.parse(r.stdout)[0].files.map((f) => f.path).sort();
  assert.deepEqual(files, [
    "LICENSE",
    "README.md",
    "build/dist/client.mjs",
    "build/dist/client.mjs.map",
    "build/dist/query.mjs",
    "build/dist/query.mjs.map",
    "build/dist/types/error.d.ts",
    "build/dist/types/files.d.ts",
    "build/dist/types/http.d.ts",
    "build/dist/types/module.d.ts",
    "build/dist/types/query.d.ts",
    "build/dist/types/stream.d.ts",
    "build/dist/types/wrpc.d.ts",
    "package.json",
  ]);
});
