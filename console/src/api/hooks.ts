import { type QueryKey, useMutation, useQuery, useQueryClient, type UseQueryOptions } from "@tanstack/react-query";

import { usePollInterval } from "../sse/LiveContext";
import { api, type Query } from "./client";
import { keys } from "./keys";
import type { Info, Page, Started } from "./types";

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

/**
 * A backtest's or an optimisation's record at ``path``, refetched every second while it runs, and
 * its cancel (DELETE ``path``), which refreshes the record and its list.
 */
export function useRun<T extends { status: string }>(path: string, key: QueryKey, listKey: QueryKey, onCancelled: () => void) {
  const qc = useQueryClient();
  const poll = usePollInterval();
  const q = useApiQuery<T>(key, path, {
    extra: { refetchInterval: (query) => (query.state.data?.status === "running" ? 1000 : poll) },
  });
  const cancel = useMutation({
    mutationFn: () => api<Started | undefined>(path, { method: "DELETE" }),
    onSuccess: () => {
      onCancelled();
      void qc.invalidateQueries({ queryKey: key });
      void qc.invalidateQueries({ queryKey: listKey });
    },
  });
  return { q, cancel };
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
