import { type QueryKey, useQuery, type UseQueryOptions } from "@tanstack/react-query";

import { usePollInterval } from "../sse/LiveContext";
import { api, type Query } from "./client";
import { keys } from "./keys";
import type { Info, Page } from "./types";

export interface ApiQueryOptions<T> {
  query?: Query;
  enabled?: boolean;
  /** Refetch every this many ms whatever the stream says (a running backtest: 1000). */
  every?: number | false;
  /** Poll while the stream is down (default true). */
  poll?: boolean;
  staleTime?: number;
  extra?: Partial<UseQueryOptions<T, Error, T, QueryKey>>;
}

/** A GET of the API, refetched on a timer while the stream is down. */
export function useApiQuery<T>(key: QueryKey, path: string, opts: ApiQueryOptions<T> = {}) {
  const fallback = usePollInterval();
  const interval = opts.every ? opts.every : opts.poll === false ? false : fallback;
  return useQuery<T, Error, T, QueryKey>({
    queryKey: key,
    queryFn: ({ signal }) => api<T>(path, { query: opts.query, signal }),
    enabled: opts.enabled ?? true,
    refetchInterval: interval,
    staleTime: opts.staleTime,
    ...opts.extra,
  });
}

export function usePage<T>(key: QueryKey, path: string, opts: ApiQueryOptions<Page<T>> = {}) {
  return useApiQuery<Page<T>>(key, path, opts);
}

/** GET /info: version, Temporal Web UI, namespace, four-eyes (null when the API has no /info). */
export function useInfo() {
  return useQuery<Info | null>({
    queryKey: keys.info(),
    queryFn: async ({ signal }) => {
      try {
        return await api<Info>("/info", { signal });
      } catch {
        return null;
      }
    },
    staleTime: 5 * 60_000,
  });
}
