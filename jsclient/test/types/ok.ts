// Uses the TypeScript that echorpc generates (echorpc/testdata/api.golden.d.ts)
// correctly: this file must compile.
import { createClient, stream, WrpcError } from "../../module.js";
import type { FieldError } from "../../module.js";
import type { ExampleAPI, Node, Rich } from "../../../echorpc/testdata/api.golden";

const api = createClient<ExampleAPI>("/rpc/api");

export async function typed(rich: Rich): Promise<void> {
  const sum: number = await api.call("add_numbers", [1, 2, 3]);
  const tree: Node | null = await api.call("rich", rich);
  const counts: Record<string, number> = await api.call("secret_admin_thing", "name");
  const anything: any = await api.call("untyped", { whatever: [1, "two"] });
  console.log(sum, tree?.children?.length, counts["x"], anything, tree?.parent?.value);
}

// Without a type argument the client takes any name and any data.
export async function untyped(): Promise<void> {
  const loose = createClient("/rpc/anything");
  const x = await loose.call("whatever", { a: 1 });
  try {
    await loose.call("other", null, { timeout: 100, idempotent: true });
  } catch (err) {
    if (err instanceof WrpcError) console.log(err.status, err.data, err.function, x);
  }
}

// A manifest failure shows on ready; field errors are typed.
export async function manifestAndFieldErrors(): Promise<string[]> {
  const api = createClient<ExampleAPI>("/rpc/api", { manifest: true, batch: { max: 5 } });
  try {
    await api.ready;
    await api.call("add_numbers", [1], { credentials: "include", retry: { attempts: 2, maxElapsed: 1000 } });
    return [];
  } catch (err) {
    if (!(err instanceof WrpcError)) throw err;
    const errors: readonly FieldError[] = err.errors;
    return errors.map((e) => `${e.path} ${e.rule} ${e.param ?? ""} ${e.message}`);
  }
}

// Streams: the generated types mark a streaming function with stream: true;
// its items have the output type.
type StreamAPI = ExampleAPI & { countdown: { input: number; output: number; stream: true } };

export async function streams(signal: AbortSignal): Promise<number> {
  const api = createClient<StreamAPI>("/rpc/api", { retry: { base: 50 } });
  let total: number = await api.call("add_numbers", [1, 2]);
  for await (const n of api.stream("countdown", 3, { signal, resume: true, timeout: 60000 })) total += n;
  const items: AsyncIterable<number> = api.stream("countdown", 2);
  for await (const n of items) total -= n;
  // untyped: any name, any data, items of any type (or of the type argument)
  for await (const x of createClient("/rpc/anything").stream("whatever", { a: 1 })) console.log(x.anything);
  for await (const s of stream<string>("names", null, { endpoint: "/rpc/anything", headers: { "X-A": "1" } })) console.log(s.length);
  return total;
}
