import { clearBanner } from "../lib/banner";
import { cleanup, fireEvent, screen, waitFor } from "@testing-library/react";

import { strategy } from "../test/fixtures";
import { mockApi, page, renderWith } from "../test/utils";
import { Strategies } from "./Strategies";

function routes(extra: (c: { method: string; path: string }) => { status?: number; body?: unknown } | undefined = () => undefined) {
  let halted = false;
  return mockApi((c) => {
    const x = extra(c);
    if (x) {
      if (c.path.endsWith("/halt")) halted = true;
      return x;
    }
    if (c.path === "/strategies" && c.method === "GET") {
      return page([strategy({ id: "s1", created_by: "tom", status: halted ? "halted" : "running" }), strategy({ id: "s2", created_by: "other", status: "halted" })]);
    }
    if (c.path === "/strategy-types") return page([]);
    return undefined;
  });
}

describe("strategies", () => {
  afterEach(() => {
    vi.unstubAllGlobals();
    cleanup();
    clearBanner();
  });

  it("a viewer sees rows and statuses, no control", async () => {
    routes();
    renderWith(<Strategies />, { user: { name: "vera", kind: "user", roles: ["viewer"] } });
    expect(await screen.findByTestId("strategy-row-s1")).toBeInTheDocument();
    expect(screen.getByTestId("strategy-status-s2")).toHaveTextContent("halted");
    expect(screen.queryByTestId("start-strategy-open")).toBeNull();
    expect(screen.queryByTestId("halt-s1")).toBeNull();
    expect(screen.queryByTestId("stop-s1")).toBeNull();
    expect(screen.queryByTestId("resume-s2")).toBeNull();
  });

  it("a trader controls their own strategies only", async () => {
    routes();
    renderWith(<Strategies />, { user: { name: "tom", kind: "user", roles: ["trader"] } });
    expect(await screen.findByTestId("halt-s1")).toBeInTheDocument();
    expect(screen.getByTestId("stop-s1")).toBeInTheDocument();
    expect(screen.getByTestId("start-strategy-open")).toBeInTheDocument();
    expect(screen.queryByTestId("resume-s2")).toBeNull();
    expect(screen.queryByTestId("stop-s2")).toBeNull();
  });

  it("risk resumes any strategy; a 403 shows the API's detail in the banner", async () => {
    routes((c) => (c.method === "POST" && c.path === "/strategies/s2/resume" ? { status: 403, body: { detail: "this needs the risk role" } } : undefined));
    renderWith(<Strategies />, { user: { name: "rita", kind: "user", roles: ["risk"] } });
    fireEvent.click(await screen.findByTestId("resume-s2"));
    fireEvent.click(screen.getByTestId("confirm-ok"));
    expect(await screen.findByTestId("error-banner")).toHaveTextContent("this needs the risk role");
    expect(screen.getByTestId("stop-s2")).toBeInTheDocument(); // risk stops any strategy
  });

  it("halts with a body and shows the acknowledgement", async () => {
    const calls = routes((c) =>
      c.method === "POST" && c.path === "/strategies/s1/halt"
        ? { body: { strategy_id: "s1", status: "halted", at: "2024-05-01T12:00:00Z", ack: { strategy_id: "s1", control_id: "h", state: "acked", at: null, cancelled: 1, flattened: [], detail: "" } } }
        : undefined,
    );
    renderWith(<Strategies />, { user: { name: "tom", kind: "user", roles: ["trader"] } });
    fireEvent.click(await screen.findByTestId("halt-s1"));
    expect(screen.getByTestId("confirm-dialog")).toHaveTextContent("Halt s1: its order gate closes at once");
    fireEvent.change(screen.getByTestId("confirm-reason"), { target: { value: "news" } });
    fireEvent.click(screen.getByTestId("confirm-ok"));
    expect(await screen.findByTestId("ack-s1")).toHaveTextContent("acked");
    const post = calls.find((c) => c.method === "POST")!;
    expect(post.body).toEqual({ reason: "news", flatten: false, cancel_open_orders: true });
    await waitFor(() => expect(screen.getByTestId("strategy-status-s1")).toHaveTextContent("halted"));
  });
});
