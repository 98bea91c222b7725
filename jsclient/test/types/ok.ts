// Uses the TypeScript that echorpc generates (echorpc/testdata/api.golden.d.ts)
// correctly: this file must compile.
import { createClient, WrpcError } from "../../module";
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
