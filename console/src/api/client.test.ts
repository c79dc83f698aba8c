import { api, onUnauthorized, signIn, tokens } from "./client";
import { ApiError } from "./errors";

function respond(status: number, body: unknown) {
  return new Response(body === undefined ? null : JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
}

describe("api client", () => {
  afterEach(() => {
    vi.unstubAllGlobals();
    tokens.clear();
  });

  it("signs in with the OAuth2 form and sends the bearer token", async () => {
    const fetchMock = vi.fn(async (url: string, init: RequestInit) => {
      if (url === "/auth/token") {
        expect(init.headers).toMatchObject({ "Content-Type": "application/x-www-form-urlencoded" });
        expect(init.body).toBe("username=ada&password=p+w%26d");
        return respond(200, { access_token: "a1", refresh_token: "r1", token_type: "bearer", expires_in: 900 });
      }
      return respond(200, { ok: (init.headers as Record<string, string>).Authorization });
    });
    vi.stubGlobal("fetch", fetchMock);
    await signIn("ada", "p w&d");
    expect(await api("/auth/me")).toEqual({ ok: "Bearer a1" });
  });

  it("sends {} as JSON for bodiless mutations", async () => {
    tokens.set({ access_token: "a1", refresh_token: "r1", token_type: "bearer", expires_in: 900 });
    const fetchMock = vi.fn(async (_u: string, init: RequestInit) => {
      expect(init.headers).toMatchObject({ "Content-Type": "application/json" });
      expect(init.body).toBe("{}");
      return respond(200, {});
    });
    vi.stubGlobal("fetch", fetchMock);
    await api("/strategies/s1/resume", { method: "POST" });
    expect(fetchMock).toHaveBeenCalledTimes(1);
  });

  it("refreshes once on a 401 and retries", async () => {
    tokens.set({ access_token: "old", refresh_token: "r1", token_type: "bearer", expires_in: 900 });
    const fetchMock = vi.fn(async (url: string, init: RequestInit) => {
      if (url === "/auth/refresh") {
        expect(JSON.parse(init.body as string)).toEqual({ refresh_token: "r1" });
        return respond(200, { access_token: "new", refresh_token: "r2", token_type: "bearer", expires_in: 900 });
      }
      const auth = (init.headers as Record<string, string>).Authorization;
      return auth === "Bearer new" ? respond(200, { data: [], count: 0 }) : respond(401, { detail: "token expired" });
    });
    vi.stubGlobal("fetch", fetchMock);
    expect(await api("/orders")).toEqual({ data: [], count: 0 });
    expect(tokens.get()?.refresh).toBe("r2");
  });

  it("a 401 after the refresh ends the session", async () => {
    const gone = vi.fn();
    onUnauthorized(gone);
    tokens.set({ access_token: "old", refresh_token: "r1", token_type: "bearer", expires_in: 900 });
    vi.stubGlobal(
      "fetch",
      vi.fn(async (url: string) => (url === "/auth/refresh" ? respond(401, { detail: "session revoked" }) : respond(401, { detail: "token expired" }))),
    );
    await expect(api("/orders")).rejects.toMatchObject({ status: 401 });
    expect(tokens.get()).toBeNull();
    expect(gone).toHaveBeenCalled();
  });

  it("turns error answers into ApiError with detail and errors", async () => {
    tokens.set({ access_token: "a1", refresh_token: "r1", token_type: "bearer", expires_in: 900 });
    vi.stubGlobal("fetch", vi.fn(async () => respond(403, { detail: "this needs the risk role" })));
    const e = await api("/halt", { method: "POST", body: { reason: "x" } }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ApiError);
    expect((e as ApiError).status).toBe(403);
    expect((e as ApiError).detail).toBe("this needs the risk role");
  });
});
