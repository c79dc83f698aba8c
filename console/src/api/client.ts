// The API client: same origin, JSON, `Authorization: Bearer <access token>` on every call but
// sign-in and refresh. A 401 is answered by one refresh and one retry; a second 401 (or a refused
// refresh) ends the session and sends the user to the sign-in page.

import { ApiError } from "./errors";
import { TokenManager } from "./tokens";
import type { TokenAnswer } from "./types";

export type Query = Record<string, string | number | boolean | null | undefined>;

export interface RequestOptions {
  method?: "GET" | "POST" | "PATCH" | "PUT" | "DELETE";
  query?: Query;
  /** A JSON body; mutations without one send `{}` (the API answers 415 to a body that is not JSON). */
  body?: unknown;
  signal?: AbortSignal;
  headers?: Record<string, string>;
}

/** The API's base: the origin that served the console (the API serves it under /console/). */
let apiBase = "";
export function setApiBase(base: string): void {
  apiBase = base.replace(/\/$/, "");
}

export function url(path: string, query?: Query): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) {
    if (v === undefined || v === null || v === "") continue;
    q.set(k, String(v));
  }
  const qs = q.toString();
  return `${apiBase}${path}${qs ? `?${qs}` : ""}`;
}

async function readBody(res: Response): Promise<unknown> {
  if (res.status === 204) return undefined;
  const text = await res.text();
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

async function refreshCall(refreshToken: string): Promise<TokenAnswer> {
  const res = await fetch(url("/auth/refresh"), {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify({ refresh_token: refreshToken }),
    credentials: "same-origin",
  });
  const body = await readBody(res);
  if (!res.ok) throw new ApiError(res.status, body);
  return body as TokenAnswer;
}

function sessionStore(): Storage | null {
  try {
    return typeof sessionStorage === "undefined" ? null : sessionStorage;
  } catch {
    return null;
  }
}

export const tokens = new TokenManager({ refresh: refreshCall, storage: sessionStore() });

let unauthorized: () => void = () => undefined;
/** What to do once the session is over (the app navigates to the sign-in page). */
export function onUnauthorized(fn: () => void): void {
  unauthorized = fn;
  tokens.setOnExpired(fn);
}

function sessionOver(detail: string): ApiError {
  tokens.clear();
  unauthorized();
  return new ApiError(401, { detail });
}

/** Call the API with the session's access token. */
export async function api<T>(path: string, opts: RequestOptions = {}): Promise<T> {
  const method = opts.method ?? "GET";
  const headers: Record<string, string> = { Accept: "application/json", ...(opts.headers ?? {}) };
  let body: string | undefined;
  if (method !== "GET" && method !== "DELETE") {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(opts.body ?? {});
  } else if (opts.body !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(opts.body);
  }
  let token = await tokens.accessToken().catch(() => tokens.get()?.access ?? null);
  if (!token) throw sessionOver("not signed in");
  for (let attempt = 0; ; attempt++) {
    const res = await fetch(url(path, opts.query), {
      method,
      headers: { ...headers, Authorization: `Bearer ${token}` },
      body,
      signal: opts.signal,
      credentials: "same-origin",
    });
    if (res.status === 401 && attempt === 0) {
      const fresh = await tokens.refreshNow().catch(() => null);
      if (!fresh) throw sessionOver("your session has ended: sign in again");
      token = fresh;
      continue;
    }
    const data = await readBody(res);
    if (res.status === 401) throw sessionOver(new ApiError(401, data).detail);
    if (!res.ok) throw new ApiError(res.status, data, res.statusText);
    return data as T;
  }
}

/** Sign in with the OAuth2 password form; keeps the tokens. */
export async function signIn(username: string, password: string): Promise<void> {
  const form = new URLSearchParams({ username, password });
  const res = await fetch(url("/auth/token"), {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded", Accept: "application/json" },
    body: form.toString(),
    credentials: "same-origin",
  });
  const data = await readBody(res);
  if (!res.ok) throw new ApiError(res.status, data, res.statusText);
  tokens.set(data as TokenAnswer);
}

/** Revoke the session (best effort) and forget the tokens. */
export async function signOut(): Promise<void> {
  const t = tokens.get();
  if (t) {
    try {
      await fetch(url("/auth/logout"), {
        method: "POST",
        headers: {
          Authorization: `Bearer ${t.access}`,
          "Content-Type": "application/json",
          Accept: "application/json",
        },
        body: "{}",
        credentials: "same-origin",
      });
    } catch {
      // the network is down: the tokens are forgotten all the same
    }
  }
  tokens.clear();
}
