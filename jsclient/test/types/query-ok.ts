// Uses the TanStack Query helpers with @tanstack/query-core correctly: this
// file must compile. What they return fits TanStack's own option types.
import { MutationObserver, QueryClient, QueryObserver } from "@tanstack/query-core";
import type { MutationObserverOptions, QueryKey, QueryObserverOptions } from "@tanstack/query-core";
import { createClient, WrpcError } from "../../module.js";
import { live, liveQueries, mutationOptions, queryOptions } from "../../query.js";
import type { WrpcQueryKey } from "../../query.js";
import type { ExampleAPI, Node, Rich } from "../../../echorpc/testdata/api.golden";

type StreamAPI = ExampleAPI & { countdown: { input: number; output: number; stream: true } };
const api = createClient<StreamAPI>("/rpc/api", { manifest: true, get: true, maxUrl: 4000 });
const qc = new QueryClient();

export async function queries(rich: Rich): Promise<void> {
  const sum: number = await qc.fetchQuery(queryOptions(api, "add_numbers", [1, 2]));
  const tree: Node | null = await qc.fetchQuery(queryOptions(api, "rich", rich, { staleTime: 1000 }));
  const key: WrpcQueryKey<"add_numbers", number[]> = queryOptions(api, "add_numbers", [1]).queryKey;
  const options: QueryObserverOptions<number, WrpcError, number, number, QueryKey> = queryOptions(api, "add_numbers", [1]);
  const selected: QueryObserverOptions<number, WrpcError, string, number, QueryKey> = queryOptions(api, "add_numbers", [1], {
    select: (n: number) => String(n),
    enabled: true,
    retry: (count: number, err: WrpcError) => count < 2 && err.status == 0,
  });
  // the error type is WrpcError
  const observer = new QueryObserver(qc, queryOptions(api, "add_numbers", [3]));
  const error: WrpcError | null = observer.getCurrentResult().error;
  const data: number | undefined = observer.getCurrentResult().data;
  console.log(sum, tree, key, options, selected, error?.status, data);
  // untyped client: any name, any data
  const loose = createClient("/rpc/anything");
  const x = await qc.fetchQuery(queryOptions(loose, "whatever", { a: 1 }));
  await qc.invalidateQueries({ queryKey: ["wrpc", api.endpoint] });
  console.log(x.anything);
}

export async function mutations(): Promise<void> {
  const options: MutationObserverOptions<number, WrpcError, number[]> = mutationOptions(api, "add_numbers");
  const observer = new MutationObserver(qc, mutationOptions(api, "secret_admin_thing", { onSuccess: () => undefined }));
  const counts: Record<string, number> = await observer.mutate("name");
  const error: WrpcError | null = observer.getCurrentResult().error;
  const withError = mutationOptions(api, "add_numbers", { onError: (err: WrpcError) => console.log(err.errors) });
  console.log(options, counts, error?.status, withError);
  const sum: number = await new MutationObserver(qc, mutationOptions(api, "add_numbers")).mutate([1, 2]);
  console.log(sum);
}

export async function liveQueriesFit(): Promise<void> {
  // a real QueryClient fits liveQueries; the plain client's live yields the function's result
  const stop: () => void = liveQueries(qc, api, { queries: ["add_numbers"], onError: (err: WrpcError, fn: string) => console.log(fn, err.status) });
  for await (const sum of live(api, "add_numbers", [1, 2], { stream: "live" })) {
    const n: number = sum;
    console.log(n);
  }
  stop();
}
