// TanStack Query keys, and which of them a change on the stream makes stale.
//
// Every key is [name] or [name, scope]: scope is an object whose `strategy_id` (when set) names
// the one strategy the data is about, or an id (["strategy", id], ["backtest", id]).

import type { QueryClient, QueryKey } from "@tanstack/react-query";

import type { ChangeFrame } from "../sse/parser";

export interface Scope {
  strategy_id?: string;
  [k: string]: unknown;
}

export const keys = {
  info: () => ["info"] as const,
  me: () => ["me"] as const,
  strategies: () => ["strategies"] as const,
  strategy: (id: string) => ["strategy", id] as const,
  strategyTypes: () => ["strategy-types"] as const,
  orders: (scope: Scope = {}) => ["orders", scope] as const,
  fills: (scope: Scope = {}) => ["fills", scope] as const,
  positions: (scope: Scope = {}) => ["positions", scope] as const,
  decisions: (scope: Scope = {}) => ["decisions", scope] as const,
  decision: (id: number) => ["decision", id] as const,
  pnl: (scope: Scope = {}) => ["pnl", scope] as const,
  events: (scope: Scope = {}) => ["events", scope] as const,
  neurohub: () => ["neurohub"] as const,
  approvals: (scope: Scope = {}) => ["approvals", scope] as const,
  backtests: () => ["backtests"] as const,
  backtest: (id: string) => ["backtest", id] as const,
  optimizations: () => ["optimizations"] as const,
  optimization: (id: string) => ["optimization", id] as const,
  news: (scope: Scope = {}) => ["news", scope] as const,
  series: (scope: Scope = {}) => ["data", scope] as const,
  candles: (scope: Scope = {}) => ["candles", scope] as const,
  gaps: (scope: Scope = {}) => ["gaps", scope] as const,
  users: () => ["users"] as const,
  apiKeys: () => ["api-keys"] as const,
};

/** The query names a topic of the stream touches: [name, how the frame scopes it]. */
type Scoping = "strategy" | "ref" | "strategy-id" | "none";
export const TOPIC_KEYS: Record<string, [string, Scoping][]> = {
  orders: [
    ["orders", "strategy"],
    ["neurohub", "none"],
  ],
  fills: [
    ["fills", "strategy"],
    ["orders", "strategy"],
    ["positions", "strategy"],
  ],
  positions: [
    ["positions", "strategy"],
    ["pnl", "strategy"],
  ],
  decisions: [
    ["decisions", "strategy"],
    ["decision", "ref"],
  ],
  events: [["events", "strategy"]],
  neurohub: [
    ["neurohub", "none"],
    ["strategies", "none"],
    ["strategy", "strategy-id"],
  ],
  approvals: [["approvals", "none"]],
  strategies: [
    ["strategies", "none"],
    ["strategy", "strategy-id"],
    ["neurohub", "none"],
  ],
  backtests: [
    ["backtests", "none"],
    ["backtest", "ref"],
  ],
  optimizations: [
    ["optimizations", "none"],
    ["optimization", "ref"],
  ],
};

/** Whether a change frame makes the query with this key stale. */
export function frameTouches(frame: ChangeFrame, key: QueryKey): boolean {
  const rules = TOPIC_KEYS[frame.topic];
  if (!rules) return false;
  const [name, scope] = key as [unknown, unknown];
  for (const [n, how] of rules) {
    if (n !== name) continue;
    switch (how) {
      case "none":
        return true;
      case "strategy": {
        const sid = scope && typeof scope === "object" ? (scope as Scope).strategy_id : undefined;
        if (!frame.strategy_id || !sid || sid === frame.strategy_id) return true;
        break;
      }
      case "strategy-id":
        if (!frame.strategy_id || scope === frame.strategy_id) return true;
        break;
      case "ref":
        if (!frame.ref || String(scope) === frame.ref) return true;
        break;
    }
  }
  return false;
}

/**
 * Change frames batched: a burst (a cycle writes orders, fills, positions, PnL at once) makes
 * each query stale once. A query already being fetched is not cancelled (a stream busier than
 * the API's answers would otherwise starve it); its frame waits for the next batch instead, so
 * the change is read by a fetch that starts after it.
 */
export class FrameBatcher {
  private pending = new Map<string, ChangeFrame>();
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly client: QueryClient,
    private readonly delayMs = 250,
  ) {}

  add(frame: ChangeFrame): void {
    this.pending.set(`${frame.topic}|${frame.strategy_id ?? ""}|${frame.ref ?? ""}`, frame);
    this.schedule();
  }

  private schedule(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.flush();
    }, this.delayMs);
  }

  flush(): void {
    const frames = [...this.pending.entries()];
    this.pending.clear();
    const cache = this.client.getQueryCache();
    for (const [key, frame] of frames) {
      if (!TOPIC_KEYS[frame.topic]) {
        void this.client.invalidateQueries({ type: "active" }, { cancelRefetch: false });
        continue;
      }
      const touched = cache.findAll({ predicate: (q) => frameTouches(frame, q.queryKey) });
      if (touched.some((q) => q.state.fetchStatus === "fetching")) this.pending.set(key, frame);
      void this.client.invalidateQueries(
        { predicate: (q) => frameTouches(frame, q.queryKey) && q.state.fetchStatus !== "fetching" },
        { cancelRefetch: false },
      );
    }
    if (this.pending.size) this.schedule();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.pending.clear();
  }
}
