// The npm package as its users get it: a consumer project that imports
// @echo-rpc/wrpc and @echo-rpc/wrpc/query type-checks under every
// moduleResolution (node10, which ignores exports, through typesVersions), and
// arethetypeswrong finds nothing wrong with the packed tarball.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
const root = process.cwd();

// The files npm pack puts in the package.
const packed = () => {
  const r = spawnSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout)[0].files.map((f) => f.path);
};

const consumer = `import { createClient, call, download, save, wrpc, WrpcError } from "@echo-rpc/wrpc";
import type { Client, ClientOptions, Download, FieldError, Progress } from "@echo-rpc/wrpc";

interface API {
  add_numbers: { input: number[]; output: number };
  set_avatar: { input: { name: string; image: File | Blob }; output: string };
  report: { input: { id: number }; output: Blob };
}

export async function files(image: File): Promise<string> {
  const seen: Progress[] = [];
  const id: string = await api.call("set_avatar", { name: "ann", image }, { onUploadProgress: (p) => seen.push(p) });
  const file: Download = await api.download("report", { id: 7 }, { onDownloadProgress: (p) => seen.push(p) });
  save(file);
  save(await download("report", { id: 8 }), "other.txt");
  return id + file.name + seen.length;
}
const options: ClientOptions = { batch: true, manifest: true, retry: { attempts: 2 } };
const api: Client<API> = createClient<API>("/rpc/tester", options);

export async function main(): Promise<number> {
  await api.ready;
  const body: string = wrpc("add_numbers", [1]);
  try {
    return (await api.call("add_numbers", [1, 2])) + (await call<number>("add_numbers", [body.length]));
  } catch (err) {
    if (err instanceof WrpcError) {
      const first: FieldError | undefined = err.errors[0];
      return first ? first.path.length : err.status;
    }
    throw err;
  }
}
`;

// The TanStack Query helpers, from the subpath export.
const queryConsumer = `import { createClient, WrpcError } from "@echo-rpc/wrpc";
import { queryOptions, mutationOptions } from "@echo-rpc/wrpc/query";
import type { WrpcQueryOptions } from "@echo-rpc/wrpc/query";

interface API {
  add_numbers: { input: number[]; output: number };
}
const api = createClient<API>("/rpc/tester", { manifest: true, get: true });

export async function query(): Promise<number> {
  const o: WrpcQueryOptions<number, "add_numbers", number[]> = queryOptions(api, "add_numbers", [1, 2]);
  const m = mutationOptions(api, "add_numbers", { retry: (n: number, e: WrpcError) => n < 2 && e.status == 0 });
  return (await o.queryFn({ signal: new AbortController().signal })) + (await m.mutationFn([3]));
}
`;

const settings = {
  node16: { module: "node16", moduleResolution: "node16" },
  nodenext: { module: "nodenext", moduleResolution: "nodenext" },
  bundler: { module: "esnext", moduleResolution: "bundler" },
  node10: { module: "es2020", moduleResolution: "node10" },
};

for (const [name, options] of Object.entries(settings)) {
  test(`an ES module consumer type-checks with moduleResolution ${name}`, () => {
    const dir = mkdtempSync(join(tmpdir(), `wrpc-consumer-${name}-`));
    const pkg = join(dir, "node_modules", "@echo-rpc", "wrpc");
    for (const file of packed()) {
      mkdirSync(dirname(join(pkg, file)), { recursive: true });
      cpSync(join(root, file), join(pkg, file));
    }
    writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }));
    writeFileSync(
      join(dir, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: { ...options, target: "ES2020", lib: ["ES2021", "DOM"], strict: true, noEmit: true, skipLibCheck: false, types: [] },
        files: ["index.ts", "query.ts"],
      }),
    );
    writeFileSync(join(dir, "index.ts"), consumer);
    writeFileSync(join(dir, "query.ts"), queryConsumer);
    const r = spawnSync(process.execPath, [tsc, "-p", dir], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stdout + r.stderr);
  });
}

test("arethetypeswrong passes on the packed tarball (ESM only)", () => {
  const dir = mkdtempSync(join(tmpdir(), "wrpc-attw-"));
  const p = spawnSync("npm", ["pack", "--ignore-scripts", "--pack-destination", dir], { encoding: "utf8" });
  assert.equal(p.status, 0, p.stderr);
  const [tarball] = readdirSync(dir);
  const r = spawnSync(join(root, "node_modules", ".bin", "attw"), [join(dir, tarball), "--profile", "esm-only", "--format", "ascii"], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stdout + r.stderr);
});
