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
/** Options of live and liveQueries. */
export interface LiveOptions {
    /** The name of the instance's live stream (echorpc/topic's Live.Serve). Default "live". */
    stream?: string;
    /** Stops holding the queries. */
    signal?: AbortSignal;
}
/**
 * Holds a live query with the plain client: calls client's function fn
 * with data once the page holds the query (it has subscribed to the
 * instance's live stream, on the page's shared connection), yields the
 * result, and calls it again, and yields again, each time a mutation
 * invalidates fn (echorpc/topic's Live.Invalidates and Invalidate), and
 * after a reconnect that could not resume (a gap: invalidations may have
 * been lost). Invalidations that come during a call make one more call.
 *
 *     for await (const clients of live(api, "list", null)) render(clients);
 *
 * It ends when the loop is left or signal aborts. It throws a call's
 * WrpcError, and the refusal of the subscription: 404 when the instance
 * has no live stream (or no such query), 401 or 403 when the page may not
 * call the query. A dropped subscription is opened again, after a backoff.
 */
export declare function live<A, K extends Calls<A>>(client: Client<A>, fn: K, data: Input<A, K>, options?: LiveOptions): AsyncGenerator<Output<A, K>, void, undefined>;
/** The part of a TanStack QueryClient that liveQueries uses. */
export interface LiveQueryClient {
    getQueryCache(): {
        getAll(): {
            queryKey: readonly unknown[];
        }[];
        subscribe(listener: (event: {
            type: string;
            query: {
                queryKey: readonly unknown[];
            };
        }) => void): () => void;
    };
    invalidateQueries(filters: {
        queryKey: readonly unknown[];
        predicate?: (query: any) => boolean;
    }): Promise<void>;
}
/** Options of liveQueries. */
export interface LiveQueriesOptions<A> extends LiveOptions {
    /** The functions whose queries are held. Default: every function of client's instance that has a query in the cache. */
    queries?: Calls<A>[];
    /** Told of a refused subscription (404, 401, 403): that function's queries are not held. */
    onError?: (error: WrpcError, fn: string) => void;
}
/**
 * Keeps queryClient's queries of client's instance live: while the cache
 * holds a query of function fn (a key made by queryOptions), the page
 * holds fn on the instance's live stream, and each time a mutation
 * invalidates fn (echorpc/topic's Live.Invalidates and Invalidate), or a
 * reconnect could not resume (a gap), it calls
 * queryClient.invalidateQueries({ queryKey: [...instanceKey(client), fn] }),
 * which refetches the active ones. When the page starts to hold fn, the
 * queries of fn with data older than that are invalidated too. Returns the
 * function that stops it.
 *
 *     const stop = liveQueries(queryClient, api);
 */
export declare function liveQueries<A>(queryClient: LiveQueryClient, client: Client<A>, options?: LiveQueriesOptions<A>): () => void;
