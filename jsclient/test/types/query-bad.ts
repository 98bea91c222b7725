// Misuses the TanStack Query helpers: each marked line must fail to compile.
import { MutationObserver, QueryClient } from "@tanstack/query-core";
import type { QueryKey, QueryObserverOptions } from "@tanstack/query-core";
import { createClient } from "../../module.js";
import { live, liveQueries, mutationOptions, queryOptions } from "../../query.js";
import type { ExampleAPI } from "../../../echorpc/testdata/api.golden";

type StreamAPI = ExampleAPI & { countdown: { input: number; output: number; stream: true } };
const api = createClient<StreamAPI>("/rpc/api");
const qc = new QueryClient();

export async function misuse(): Promise<void> {
  queryOptions(api, "add_numberz", [1]); // unknown function
  queryOptions(api, "add_numbers", "1, 2"); // wrong input type
  const s: QueryObserverOptions<string, Error, string, string, QueryKey> = queryOptions(api, "add_numbers", [1]); // wrong output type
  const e: QueryObserverOptions<number, TypeError, number, number, QueryKey> = queryOptions(api, "add_numbers", [1]); // the error is a WrpcError
  queryOptions(api, "countdown", 3); // a stream is not a query
  mutationOptions(api, "countdown"); // nor a mutation
  await new MutationObserver(qc, mutationOptions(api, "add_numbers")).mutate("1"); // wrong variables
  const n: string = await new MutationObserver(qc, mutationOptions(api, "add_numbers")).mutate([1]); // wrong result
  live(api, "countdown", 3); // a stream is not a live query
  liveQueries(qc, api, { queries: ["add_numberz"] }); // unknown function
  console.log(s, e, n);
}
