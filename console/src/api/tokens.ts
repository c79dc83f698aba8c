// The session's tokens: kept in sessionStorage (this tab only), the access token refreshed
// ``leadMs`` before it expires, one refresh in flight at a time (the refresh token rotates: a
// refresh token used twice revokes the session, so two refreshes must never race).

import type { TokenAnswer } from "./types";

export interface Tokens {
  access: string;
  refresh: string;
  /** When the access token expires (ms since the epoch). */
  expiresAt: number;
}

export interface TokenManagerOptions {
  /** Exchange a refresh token for new tokens (POST /auth/refresh). */
  refresh: (refreshToken: string) => Promise<TokenAnswer>;
  storage?: Pick<Storage, "getItem" | "setItem" | "removeItem"> | null;
  now?: () => number;
  /** Refresh this long before the access token expires (default 60 s). */
  leadMs?: number;
  /** Retry a refresh that failed for want of a network this long after (default 5 s). */
  retryMs?: number;
  /** The session is over (refresh refused): sign in again. */
  onExpired?: () => void;
}

export const STORAGE_KEY = "asts.console.tokens";

/** Whether a refresh failure means the session is gone (not just the network). */
function isRefusal(e: unknown): boolean {
  const status = (e as { status?: unknown })?.status;
  return typeof status === "number" && status >= 400 && status < 500;
}

/** When to refresh an access token expiring at ``expiresAt``: ``leadMs`` before, not before now. */
export function refreshDelay(expiresAt: number, now: number, leadMs: number): number {
  return Math.max(0, expiresAt - leadMs - now);
}

export class TokenManager {
  private tokens: Tokens | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private inFlight: Promise<string | null> | null = null;
  private listeners = new Set<(t: Tokens | null) => void>();
  private readonly opts: Required<Omit<TokenManagerOptions, "storage" | "onExpired">> &
    Pick<TokenManagerOptions, "storage" | "onExpired">;

  constructor(opts: TokenManagerOptions) {
    this.opts = { leadMs: 60_000, retryMs: 5_000, now: () => Date.now(), ...opts };
    this.tokens = this.load();
    if (this.tokens) this.schedule();
  }

  setOnExpired(fn: (() => void) | undefined): void {
    this.opts.onExpired = fn;
  }

  subscribe(fn: (t: Tokens | null) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  get(): Tokens | null {
    return this.tokens;
  }

  /** Keep the tokens of a sign-in or refresh answer and schedule the next refresh. */
  set(answer: TokenAnswer): Tokens {
    const tokens: Tokens = {
      access: answer.access_token,
      refresh: answer.refresh_token,
      expiresAt: this.opts.now() + answer.expires_in * 1000,
    };
    this.tokens = tokens;
    this.save();
    this.schedule();
    this.emit();
    return tokens;
  }

  /** Forget the session (sign-out, or the refresh was refused). */
  clear(): void {
    this.tokens = null;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.save();
    this.emit();
  }

  /** A usable access token: refreshed first when it is within ``leadMs`` of expiring. */
  async accessToken(): Promise<string | null> {
    const t = this.tokens;
    if (!t) return null;
    if (t.expiresAt - this.opts.now() > this.opts.leadMs) return t.access;
    return this.refreshNow();
  }

  /** Refresh now, or join the refresh in flight; the new access token, or null when refused. */
  refreshNow(): Promise<string | null> {
    if (this.inFlight) return this.inFlight;
    const current = this.tokens;
    if (!current) return Promise.resolve(null);
    const run = (async () => {
      try {
        const answer = await this.opts.refresh(current.refresh);
        // Signed out (or signed in anew) meanwhile: do not resurrect the old session.
        if (this.tokens?.refresh !== current.refresh) return this.tokens?.access ?? null;
        return this.set(answer).access;
      } catch (e) {
        if (isRefusal(e)) {
          this.clear();
          this.opts.onExpired?.();
          return null;
        }
        // The network, not the session: try again soon while the access token still works.
        this.schedule(this.opts.retryMs);
        if (current.expiresAt > this.opts.now()) return current.access;
        throw e;
      } finally {
        this.inFlight = null;
      }
    })();
    this.inFlight = run;
    return run;
  }

  private schedule(delay?: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const t = this.tokens;
    if (!t) return;
    const wait = delay ?? refreshDelay(t.expiresAt, this.opts.now(), this.opts.leadMs);
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.refreshNow().catch(() => undefined);
    }, wait);
  }

  private emit(): void {
    for (const fn of this.listeners) fn(this.tokens);
  }

  private load(): Tokens | null {
    try {
      const raw = this.opts.storage?.getItem(STORAGE_KEY);
      if (!raw) return null;
      const t = JSON.parse(raw) as Tokens;
      if (typeof t.access !== "string" || typeof t.refresh !== "string" || typeof t.expiresAt !== "number") {
        return null;
      }
      return t;
    } catch {
      return null;
    }
  }

  private save(): void {
    try {
      if (!this.opts.storage) return;
      if (this.tokens) this.opts.storage.setItem(STORAGE_KEY, JSON.stringify(this.tokens));
      else this.opts.storage.removeItem(STORAGE_KEY);
    } catch {
      // storage full or disabled: the session lives in memory only
    }
  }
}
