import { refreshDelay, STORAGE_KEY, TokenManager } from "./tokens";
import type { TokenAnswer } from "./types";

function answer(n: number, expiresIn = 900): TokenAnswer {
  return { access_token: `a${n}`, refresh_token: `r${n}`, token_type: "bearer", expires_in: expiresIn };
}

function memoryStorage() {
  const m = new Map<string, string>();
  return {
    getItem: (k: string) => m.get(k) ?? null,
    setItem: (k: string, v: string) => void m.set(k, v),
    removeItem: (k: string) => void m.delete(k),
    m,
  };
}

describe("token refresh scheduling", () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(new Date("2024-05-01T12:00:00Z"));
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("refreshes 60 s before the access token expires", async () => {
    let n = 1;
    const refresh = vi.fn(async () => answer(++n));
    const tm = new TokenManager({ refresh, storage: null });
    tm.set(answer(1)); // 15 min
    await vi.advanceTimersByTimeAsync(839_000);
    expect(refresh).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(refresh).toHaveBeenCalledTimes(1);
    expect(refresh).toHaveBeenCalledWith("r1");
    expect(tm.get()?.access).toBe("a2");
    // and again before the new one expires
    await vi.advanceTimersByTimeAsync(840_000);
    expect(refresh).toHaveBeenCalledTimes(2);
    expect(refresh).toHaveBeenLastCalledWith("r2");
  });

  it("runs one refresh at a time: concurrent callers share it", async () => {
    let release!: (a: TokenAnswer) => void;
    const refresh = vi.fn(() => new Promise<TokenAnswer>((r) => (release = r)));
    const tm = new TokenManager({ refresh, storage: null });
    tm.set(answer(1));
    const a = tm.refreshNow();
    const b = tm.refreshNow();
    const c = tm.refreshNow();
    expect(refresh).toHaveBeenCalledTimes(1);
    release(answer(2));
    expect(await Promise.all([a, b, c])).toEqual(["a2", "a2", "a2"]);
    // the scheduled refresh does not reuse the rotated token
    await vi.advanceTimersByTimeAsync(840_000);
    expect(refresh).toHaveBeenCalledTimes(2);
    expect(refresh).toHaveBeenLastCalledWith("r2");
  });

  it("gives a fresh token when the current one is about to expire", async () => {
    const refresh = vi.fn(async () => answer(2));
    const tm = new TokenManager({ refresh, storage: null });
    tm.set(answer(1, 30)); // expires within the lead time
    expect(await tm.accessToken()).toBe("a2");
    tm.set(answer(3));
    expect(await tm.accessToken()).toBe("a3");
    expect(refresh).toHaveBeenCalledTimes(1);
  });

  it("ends the session when the refresh is refused", async () => {
    const onExpired = vi.fn();
    const refresh = vi.fn(async () => {
      throw Object.assign(new Error("revoked"), { status: 401 });
    });
    const tm = new TokenManager({ refresh, storage: null, onExpired });
    tm.set(answer(1));
    expect(await tm.refreshNow()).toBeNull();
    expect(tm.get()).toBeNull();
    expect(onExpired).toHaveBeenCalledTimes(1);
  });

  it("retries after a network failure while the token still works", async () => {
    let fail = true;
    const refresh = vi.fn(async () => {
      if (fail) throw new TypeError("network");
      return answer(2);
    });
    const tm = new TokenManager({ refresh, storage: null, retryMs: 5_000 });
    tm.set(answer(1));
    await vi.advanceTimersByTimeAsync(840_000);
    expect(refresh).toHaveBeenCalledTimes(1);
    expect(tm.get()?.access).toBe("a1");
    fail = false;
    await vi.advanceTimersByTimeAsync(5_000);
    expect(refresh).toHaveBeenCalledTimes(2);
    expect(tm.get()?.access).toBe("a2");
  });

  it("keeps tokens in storage and schedules from what it finds", async () => {
    const storage = memoryStorage();
    const first = new TokenManager({ refresh: async () => answer(9), storage });
    first.set(answer(1));
    expect(JSON.parse(storage.m.get(STORAGE_KEY)!).access).toBe("a1");
    first.clear();
    expect(storage.m.has(STORAGE_KEY)).toBe(false);
    first.set(answer(1));
    const refresh = vi.fn(async () => answer(2));
    const second = new TokenManager({ refresh, storage });
    expect(second.get()?.access).toBe("a1");
    await vi.advanceTimersByTimeAsync(840_000);
    expect(refresh).toHaveBeenCalledTimes(1);
  });

  it("computes the delay", () => {
    expect(refreshDelay(1_000_000, 0, 60_000)).toBe(940_000);
    expect(refreshDelay(1_000, 0, 60_000)).toBe(0);
  });
});
