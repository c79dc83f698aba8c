import { frameTouches } from "../api/keys";
import type { ChangeFrame } from "./parser";
import { backoffDelay, StreamClient, type StreamState } from "./stream";

function sseResponse(chunks: string[], keepOpen = false): Response {
  const enc = new TextEncoder();
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const c of chunks) controller.enqueue(enc.encode(c));
      if (!keepOpen) controller.close();
    },
  });
  return new Response(body, { status: 200, headers: { "content-type": "text/event-stream" } });
}

describe("stream client", () => {
  it("reads frames, goes live, and reconnects with Last-Event-ID after a drop", async () => {
    const frames: ChangeFrame[] = [];
    const states: StreamState[] = [];
    const seen: Record<string, string>[] = [];
    let n = 0;
    const fetchImpl = vi.fn(async (_url: string, init: RequestInit) => {
      seen.push({ ...(init.headers as Record<string, string>) });
      n++;
      if (n === 1) return sseResponse([': ping\n\nid: 4\nevent: change\ndata: {"topic":"orders","strategy_id":"s1","ref":null}\n\n']);
      return sseResponse(['id: 5\nevent: change\ndata: {"topic":"fills","strategy_id":null,"ref":null}\n\n'], true);
    }) as unknown as typeof fetch;
    const client = new StreamClient({
      url: "/stream",
      token: async () => "tok",
      onChange: (f) => frames.push(f),
      onState: (s) => states.push(s),
      fetchImpl,
      minDelayMs: 5,
      maxDelayMs: 10,
    });
    client.start();
    await vi.waitFor(() => expect(frames).toHaveLength(2), { timeout: 2000 });
    client.stop();
    expect(frames.map((f) => f.topic)).toEqual(["orders", "fills"]);
    expect(seen[0].Authorization).toBe("Bearer tok");
    expect(seen[0].Accept).toBe("text/event-stream");
    expect(seen[0]["Last-Event-ID"]).toBeUndefined();
    expect(seen[1]["Last-Event-ID"]).toBe("4");
    expect(states).toContain("live");
    expect(states[states.length - 1]).toBe("polling");
  });

  it("stays polling while the stream is refused", async () => {
    const states: StreamState[] = [];
    const fetchImpl = vi.fn(async () => new Response("{}", { status: 404, headers: { "content-type": "application/json" } })) as unknown as typeof fetch;
    const client = new StreamClient({ url: "/stream", token: async () => "t", onChange: () => undefined, onState: (s) => states.push(s), fetchImpl, minDelayMs: 5, maxDelayMs: 5 });
    client.start();
    await vi.waitFor(() => expect((fetchImpl as unknown as { mock: { calls: unknown[] } }).mock.calls.length).toBeGreaterThan(1));
    client.stop();
    expect(states).not.toContain("live");
  });

  it("backs off exponentially up to a cap", () => {
    const mid = () => 0.5;
    expect([0, 1, 2, 3, 10].map((n) => backoffDelay(n, 1000, 30_000, mid))).toEqual([1000, 2000, 4000, 8000, 30000]);
  });
});

describe("stream topics → query keys", () => {
  const f = (topic: string, strategy_id: string | null = null, ref: string | null = null): ChangeFrame => ({ topic, strategy_id, ref });

  it("scopes by strategy where the key has one", () => {
    expect(frameTouches(f("orders", "s1"), ["orders", { strategy_id: "s1" }])).toBe(true);
    expect(frameTouches(f("orders", "s1"), ["orders", { strategy_id: "s2" }])).toBe(false);
    expect(frameTouches(f("orders", "s1"), ["orders", {}])).toBe(true);
    expect(frameTouches(f("orders", null), ["orders", { strategy_id: "s2" }])).toBe(true);
    expect(frameTouches(f("fills", "s1"), ["positions", { strategy_id: "s1" }])).toBe(true);
    expect(frameTouches(f("strategies", "s1"), ["strategy", "s1"])).toBe(true);
    expect(frameTouches(f("strategies", "s1"), ["strategy", "s2"])).toBe(false);
  });

  it("scopes records by ref", () => {
    expect(frameTouches(f("backtests", null, "bt1"), ["backtest", "bt1"])).toBe(true);
    expect(frameTouches(f("backtests", null, "bt1"), ["backtest", "bt2"])).toBe(false);
    expect(frameTouches(f("backtests", null, "bt1"), ["backtests"])).toBe(true);
    expect(frameTouches(f("approvals"), ["approvals", { status: "pending" }])).toBe(true);
    expect(frameTouches(f("approvals"), ["orders", {}])).toBe(false);
  });
});

describe("stream reset", () => {
  it("asks to read everything again on `event: reset`", async () => {
    const onReset = vi.fn();
    const fetchImpl = vi.fn(async () => sseResponse(["retry: 2000\n\nid: 9.1\nevent: reset\ndata: {}\n\n"], true)) as unknown as typeof fetch;
    const client = new StreamClient({ url: "/stream", token: async () => "t", onChange: () => undefined, onState: () => undefined, onReset, fetchImpl });
    client.start();
    await vi.waitFor(() => expect(onReset).toHaveBeenCalledTimes(1));
    expect(client.lastEventId).toBe("9.1");
    client.stop();
  });
});

describe("frame batching", () => {
  it("invalidates once per burst and retries a query that was being fetched", async () => {
    const { QueryClient } = await import("@tanstack/react-query");
    const { FrameBatcher } = await import("../api/keys");
    vi.useFakeTimers();
    try {
      const client = new QueryClient();
      let release!: () => void;
      let calls = 0;
      const observer = client.getQueryCache().build(client, {
        queryKey: ["orders", { strategy_id: "s1" }],
        queryFn: () => {
          calls++;
          return new Promise<number>((r) => (release = () => r(calls)));
        },
      });
      void observer.fetch();
      expect(calls).toBe(1);
      const b = new FrameBatcher(client, 100);
      b.add({ topic: "orders", strategy_id: "s1", ref: "a" });
      b.add({ topic: "orders", strategy_id: "s1", ref: "a" });
      await vi.advanceTimersByTimeAsync(100);
      expect(calls).toBe(1); // in flight: not cancelled, not doubled
      release();
      await vi.advanceTimersByTimeAsync(100);
      expect(observer.state.isInvalidated || calls === 2).toBe(true); // read again after it settled
      b.stop();
    } finally {
      vi.useRealTimers();
    }
  });
});
