// GET /stream read with fetch (EventSource cannot send the Authorization header): frames are
// parsed as they arrive, and a broken stream is reopened with backoff, sending the last id seen
// as Last-Event-ID. Meanwhile the state is "polling": the visible queries refetch on a timer.

import { type ChangeFrame, parseChange, SseParser } from "./parser";

export type StreamState = "live" | "polling";

export interface StreamOptions {
  url: string;
  /** The access token to send (null: not signed in, do not connect). */
  token: () => Promise<string | null>;
  onChange: (frame: ChangeFrame) => void;
  onState: (state: StreamState) => void;
  /** A 401: the token may be stale; refresh it (the next attempt uses the new one). */
  onUnauthorized?: () => Promise<unknown>;
  /** Opened again after a break (the server replays what was missed, or sends a reset). */
  onReopen?: () => void;
  /** `event: reset`: the server cannot replay what was missed, read everything again. */
  onReset?: () => void;
  fetchImpl?: typeof fetch;
  /** Backoff: first delay, factor and cap (ms). */
  minDelayMs?: number;
  maxDelayMs?: number;
  /** No byte for this long (pings come every ~15 s): the stream is dead, reopen it. */
  idleTimeoutMs?: number;
}

/** The delay before reconnect attempt ``n`` (0-based): doubling from ``min`` up to ``max``, with jitter. */
export function backoffDelay(n: number, min = 1000, max = 30_000, random: () => number = Math.random): number {
  const base = Math.min(max, min * 2 ** Math.min(n, 16));
  return Math.round(base * (0.75 + 0.5 * random()));
}

export class StreamClient {
  private abort: AbortController | null = null;
  private stopped = true;
  private attempts = 0;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private idleTimer: ReturnType<typeof setTimeout> | null = null;
  private state: StreamState = "polling";
  private everOpened = false;
  lastEventId = "";

  constructor(private readonly opts: StreamOptions) {}

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    void this.connect();
  }

  stop(): void {
    this.stopped = true;
    this.abort?.abort();
    this.abort = null;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.retryTimer = null;
    this.idleTimer = null;
    this.setState("polling");
  }

  private setState(s: StreamState): void {
    if (s === this.state) return;
    this.state = s;
    this.opts.onState(s);
  }

  private armIdle(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    const ms = this.opts.idleTimeoutMs ?? 45_000;
    this.idleTimer = setTimeout(() => this.abort?.abort(), ms);
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const token = await this.opts.token().catch(() => null);
    if (this.stopped) return;
    if (!token) {
      this.retry();
      return;
    }
    const abort = new AbortController();
    this.abort = abort;
    const headers: Record<string, string> = {
      Authorization: `Bearer ${token}`,
      Accept: "text/event-stream",
      "Cache-Control": "no-cache",
    };
    if (this.lastEventId) headers["Last-Event-ID"] = this.lastEventId;
    try {
      const res = await (this.opts.fetchImpl ?? fetch)(this.opts.url, {
        headers,
        signal: abort.signal,
        credentials: "same-origin",
        cache: "no-store",
      });
      if (res.status === 401) await this.opts.onUnauthorized?.();
      const type = res.headers.get("content-type") ?? "";
      if (!res.ok || !res.body || !type.includes("text/event-stream")) {
        throw new Error(`stream answered ${res.status}`);
      }
      const parser = new SseParser(
        {
          onEvent: (e) => {
            this.lastEventId = e.id;
            if (e.event === "reset") {
              this.opts.onReset?.();
              return;
            }
            const frame = parseChange(e);
            if (frame) this.opts.onChange(frame);
          },
        },
        this.lastEventId,
      );
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      this.armIdle();
      const reopened = this.everOpened;
      this.everOpened = true;
      this.attempts = 0;
      this.setState("live");
      if (reopened) this.opts.onReopen?.();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        this.armIdle();
        parser.feed(value);
      }
      parser.end();
    } catch {
      // refused, dropped or aborted: reconnect below unless stopped
    } finally {
      if (this.idleTimer) clearTimeout(this.idleTimer);
      this.idleTimer = null;
    }
    if (!this.stopped) this.retry();
  }

  private retry(): void {
    this.setState("polling");
    if (this.stopped || this.retryTimer) return;
    const delay = backoffDelay(this.attempts++, this.opts.minDelayMs, this.opts.maxDelayMs);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      void this.connect();
    }, delay);
  }
}
