import { MutationCache, QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { render } from "@testing-library/react";
import type { ReactNode } from "react";
import { MemoryRouter } from "react-router";

import { tokens } from "../api/client";
import type { WhoAmI } from "../api/types";
import { AuthContext } from "../auth/AuthContext";
import { ErrorBanner } from "../components/ErrorBanner";
import { showError } from "../lib/banner";

export interface Call {
  method: string;
  path: string;
  query: URLSearchParams;
  body: unknown;
  headers: Record<string, string>;
}

export type Route = (call: Call) => { status?: number; body?: unknown } | undefined;

/** Stub fetch with a router of answers; returns the calls made. */
export function mockApi(route: Route): Call[] {
  const calls: Call[] = [];
  vi.stubGlobal(
    "fetch",
    vi.fn(async (input: string, init: RequestInit = {}) => {
      const u = new URL(input, "http://console.test");
      const call: Call = {
        method: (init.method ?? "GET").toUpperCase(),
        path: u.pathname,
        query: u.searchParams,
        body: typeof init.body === "string" && init.body ? JSON.parse(init.body) : undefined,
        headers: (init.headers ?? {}) as Record<string, string>,
      };
      calls.push(call);
      const answer = route(call) ?? { status: 404, body: { detail: `no route ${call.method} ${call.path}` } };
      const status = answer.status ?? 200;
      return new Response(answer.body === undefined ? null : JSON.stringify(answer.body), {
        status,
        headers: { "content-type": "application/json" },
      });
    }),
  );
  return calls;
}

export function renderWith(ui: ReactNode, { user, path = "/" }: { user: WhoAmI; path?: string }) {
  tokens.set({ access_token: "test-access", refresh_token: "test-refresh", token_type: "bearer", expires_in: 900 });
  const client = new QueryClient({
    defaultOptions: { queries: { retry: false }, mutations: { retry: false } },
    mutationCache: new MutationCache({
      onError: (e, _v, _c, m) => {
        if ((m.meta as { banner?: boolean } | undefined)?.banner !== false) showError(e);
      },
    }),
  });
  const auth = { signedIn: true, user, loading: false, login: async () => undefined, logout: async () => undefined };
  return render(
    <QueryClientProvider client={client}>
      <MemoryRouter initialEntries={[path]}>
        <AuthContext.Provider value={auth}>
          <ErrorBanner />
          {ui}
        </AuthContext.Provider>
      </MemoryRouter>
    </QueryClientProvider>,
  );
}

export const page = <T,>(data: T[]) => ({ body: { data, count: data.length } });
