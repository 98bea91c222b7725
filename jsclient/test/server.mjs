// Starts internal/jstestserver (built once with go build) for the tests.
// WRPC_JSTESTSERVER_ROOT names another checkout to build it from (say, a
// clean copy of HEAD while echorpc/ is being edited).
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { once } from "node:events";
import { createInterface } from "node:readline";

export async function startServer() {
  const bin = join(mkdtempSync(join(tmpdir(), "wrpc-js-")), "jstestserver");
  execFileSync("go", ["build", "-o", bin, "./internal/jstestserver"], { stdio: "inherit", cwd: process.env.WRPC_JSTESTSERVER_ROOT || "." });
  const proc = spawn(bin, [], { stdio: ["ignore", "pipe", "inherit"] });
  const lines = createInterface({ input: proc.stdout });
  const [url] = await once(lines, "line");
  return { url, stop: () => proc.kill() };
}
