import type { Calls, Client, Input, Output, WrpcError } from "./wrpc.js";
/** The query key of a call: the library, the instance (see instanceKey), the function and its data. */
export type WrpcQueryKey<K extends string = string, D = unknown> = readonly ["wrpc", string, K, D];
/**
 * What queryOptions returns: the query's key and function, typed from the
 * client's API, with WrpcError as the error type (which retry and
 * throwOnError, if given, see).
 */
export interface WrpcQueryOptions<T, K extends string = string, D = unknown> {
    queryKey: WrpcQueryKey<K, D>;
    /** Calls the function with TanStack's signal, so that a cancelled query aborts its fetch. */
    queryFn: (context: {
        signal: AbortSignal;
    }) => Promise<T>;
    retry?: boolean | number | ((failureCount: number, error: WrpcError) => boolean);
    throwOnError?: boolean | ((error: WrpcError, query: any) => boolean);
}
/** What mutationOptions returns: the mutation's key and function, with WrpcError as the error type. */
export interface WrpcMutationOptions<T, D, K extends string = string> {
    mutationKey: readonly ["wrpc", string, K];
    /** Calls the function with the mutation's variables as its data. */
    mutationFn: (data: D) => Promise<T>;
    retry?: boolean | number | ((failureCount: number, error: WrpcError) => boolean);
    onError?: (error: WrpcError, data: D, ...rest: any[]) => unknown;
    throwOnError?: boolean | ((error: WrpcError) => boolean);
}
/**
 * Returns the start of the query and mutation keys of client's instance:
 * ["wrpc", endpoint], where endpoint is client.endpoint without its
 * fragment and without trailing slashes on its path, so that a client of
 * "/rpc/tester/" and one of "/rpc/tester" share their cache entries (the
 * query stays: "/rpc/?tenant=a" is "/rpc?tenant=a"). Invalidate all of an
 * instance's queries with it:
 *
 *     queryClient.invalidateQueries({ queryKey: instanceKey(api) });
 */
export declare function instanceKey(client: Client<any>): readonly ["wrpc", string];
/**
 * Returns the options of a TanStack query that calls client's function fn
 * with data: `{ queryKey, queryFn, ...extra }`.
 *
 *     const api = createClient<API>("/rpc/clients");
 *     const list = await queryClient.fetchQuery(queryOptions(api, "list", { page: 1 }));
 *
 * The key is [...instanceKey(client), fn, data], so two instances never
 * share an entry, each data has its own, and the endpoint's spelling
 * (a trailing slash) does not matter; invalidate all of an instance's
 * queries with the prefix instanceKey(client). queryFn passes the
 * query's signal to the call, so cancelling the query aborts the request
 * (a call with a signal is never batched; with the client's get option, a
 * query function goes by GET). The call's failure, a WrpcError, is the
 * query's error. extra adds or replaces options (staleTime, enabled,
 * select, ...).
 */
export declare function queryOptions<A, K extends Calls<A>>(client: Client<A>, fn: K, data: Input<A, K>): WrpcQueryOptions<Output<A, K>, K, Input<A, K>>;
export declare function queryOptions<A, K extends Calls<A>, E extends object>(client: Client<A>, fn: K, data: Input<A, K>, extra: E): Omit<WrpcQueryOptions<Output<A, K>, K, Input<A, K>>, keyof E> & E;
/**
 * Returns the options of a TanStack mutation that calls client's function
 * fn with the mutation's variables as data: `{ mutationKey, mutationFn,
 * ...extra }`, the key being [...instanceKey(client), fn].
 *
 *     const save = new MutationObserver(queryClient, mutationOptions(api, "save"));
 *     await save.mutate({ name: "Ada" });
 *
 * Its error is the call's WrpcError. extra adds or replaces options
 * (onSuccess, retry, ...).
 */
export declare function mutationOptions<A, K extends Calls<A>>(client: Client<A>, fn: K): WrpcMutationOptions<Output<A, K>, Input<A, K>, K>;
export declare function mutationOptions<A, K extends Calls<A>, E extends object>(client: Client<A>, fn: K, extra: E): Omit<WrpcMutationOptions<Output<A, K>, Input<A, K>, K>, keyof E> & E;
