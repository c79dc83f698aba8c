import { clearBanner } from "../lib/banner";
import { cleanup, fireEvent, screen, waitFor } from "@testing-library/react";

import type { Approval } from "../api/types";
import { strategy } from "../test/fixtures";
import { mockApi, page, renderWith } from "../test/utils";
import { Approvals } from "./Approvals";

function approval(p: Partial<Approval>): Approval {
  return {
    id: "apr-1",
    strategy_id: "s1",
    cycle: 3,
    workflow_id: "cycle-s1-3",
    client_order_id: "c1",
    symbol: "MSFT/USD",
    side: "buy",
    qty: "100",
    price: "412.5",
    notional: "41250.00",
    status: "pending",
    requested_at: new Date(Date.now() - 60_000).toISOString(),
    expires_at: new Date(Date.now() + 125_000).toISOString(),
    decided_at: null,
    decided_by: "",
    reason: "",
    ...p,
  };
}

const routes = (calls: { method: string; path: string }[] = []) =>
  mockApi((c) => {
    calls.push(c);
    if (c.path === "/approvals" && c.method === "GET") return page([approval({ id: "apr-1", strategy_id: "s1" }), approval({ id: "apr-2", strategy_id: "s2" })]);
    if (c.path === "/strategies") return page([strategy({ id: "s1", created_by: "rita" }), strategy({ id: "s2", created_by: "tom" })]);
    if (c.path === "/info") return { body: { version: "0.1.0", temporal_ui: "http://ui.test", namespace: "default", four_eyes: true } };
    if (c.path === "/approvals/apr-2" && c.method === "POST") return { body: { approval_id: "apr-2", status: "approved", decided_by: "rita", reason: "ok", decided_at: null } };
    return undefined;
  });

describe("approvals", () => {
  afterEach(() => {
    vi.unstubAllGlobals();
    cleanup();
    clearBanner();
  });

  it("shows notional, time left, and the four-eyes rule on the user's own strategy", async () => {
    routes();
    renderWith(<Approvals />, { user: { name: "rita", kind: "user", roles: ["risk"] } });
    expect(await screen.findByTestId("approval-row-apr-1")).toBeInTheDocument();
    expect(screen.getByTestId("approval-notional-apr-1")).toHaveTextContent("41,250.00");
    expect(screen.getByTestId("approval-timeleft-apr-1").textContent).toMatch(/^2m 0[45]s$/);
    await waitFor(() => expect(screen.getByTestId("four-eyes-apr-1")).toHaveTextContent("you started this strategy: another risk user must approve".replace(/^y/, "Y")));
    expect(screen.getByTestId("approve-apr-1")).toBeDisabled();
    expect(screen.queryByTestId("four-eyes-apr-2")).toBeNull();
    expect(screen.getByTestId("approve-apr-2")).toBeEnabled();
  });

  it("approves with a reason", async () => {
    const calls = routes();
    renderWith(<Approvals />, { user: { name: "rita", kind: "user", roles: ["risk"] } });
    fireEvent.change(await screen.findByTestId("approval-reason-apr-2"), { target: { value: "checked size" } });
    await waitFor(() => expect(screen.getByTestId("approve-apr-2")).toBeEnabled());
    fireEvent.click(screen.getByTestId("approve-apr-2"));
    await waitFor(() => expect(calls.some((c) => c.method === "POST" && c.path === "/approvals/apr-2")).toBe(true));
    const post = calls.find((c) => c.method === "POST")!;
    expect(post.body).toEqual({ decision: "approve", reason: "checked size" });
    await waitFor(() => expect(screen.getByTestId("approval-row-apr-2")).toHaveTextContent("approved by rita"));
  });

  it("a viewer sees the queue without any control", async () => {
    routes();
    renderWith(<Approvals />, { user: { name: "vera", kind: "user", roles: ["viewer"] } });
    expect(await screen.findByTestId("approval-row-apr-1")).toBeInTheDocument();
    expect(screen.queryByTestId("approve-apr-1")).toBeNull();
    expect(screen.queryByTestId("reject-apr-1")).toBeNull();
    expect(screen.queryByTestId("approval-reason-apr-1")).toBeNull();
  });
});
