import { clearBanner } from "../lib/banner";
import { cleanup, fireEvent, screen, waitFor, within } from "@testing-library/react";

import type { HubStatus } from "../api/types";
import { strategy } from "../test/fixtures";
import { type Call, mockApi, page, renderWith } from "../test/utils";
import { Desk } from "./Desk";

const hub: HubStatus = {
  hub_id: "neurohub",
  state: "active",
  reason: "",
  actor: "",
  since: null,
  strategies: [
    {
      strategy_id: "s1",
      name: "sma on msft",
      workflow_id: "strategy-s1",
      capital: "100000",
      status: "running",
      reduce_only: false,
      last_report: { strategy_id: "s1", cycle: 4, at: "2024-05-01T12:00:00Z", equity: "100250.5", exposure: "41000", realised: "0", unrealised: "250.5", fees: "0" },
      peak_equity: "100300",
      day_start_equity: "100000",
      readings: [{ name: "daily_loss", value: "0", limit: "1000", headroom: "1000", tripped: false, armed: true, detail: "" }],
    },
  ],
  breakers: [{ name: "max_drawdown", value: "0.02", limit: "0.1", headroom: "0.08", tripped: false, armed: true, detail: "" }],
  exposure: "41000",
  equity: "100250.5",
  daily_pnl: "250.5",
  last_control: null,
  day_started_at: null,
  signals_received: 0,
  reports_received: 0,
  runs: 1,
};

function routes(): Call[] {
  return mockApi((c) => {
    if (c.path === "/neurohub") return { body: hub };
    if (c.path === "/strategies") return page([strategy({ id: "s1" })]);
    if (c.path === "/pnl") return page([]);
    if (c.path === "/info") return { body: { version: "0.1.0", temporal_ui: null, namespace: "default", four_eyes: true } };
    if (c.path === "/halt" && c.method === "POST") {
      return {
        body: {
          control_id: "c1",
          hub_id: "neurohub",
          state: "halted",
          reason: (c.body as { reason: string }).reason,
          actor: "rita",
          requested_at: "2024-05-01T12:00:00Z",
          gate_changed_at: "2024-05-01T12:00:00Z",
          answered_at: "2024-05-01T12:00:01Z",
          strategies: [{ strategy_id: "s1", control_id: "c1", state: "acked", at: "2024-05-01T12:00:01Z", cancelled: 2, flattened: ["MSFT/USD"], detail: "" }],
          cancelled_orders: [],
          cancel_failures: {},
          unacknowledged_strategies: [],
          gate_latency_ms: 3.2,
          note: "",
        },
      };
    }
    return undefined;
  });
}

describe("desk", () => {
  afterEach(() => {
    vi.unstubAllGlobals();
    cleanup();
    clearBanner();
  });

  it("shows the hub state, each strategy and the breakers", async () => {
    routes();
    renderWith(<Desk />, { user: { name: "vera", kind: "user", roles: ["viewer"] } });
    expect(await screen.findByTestId("hub-state")).toHaveTextContent(/^active$/);
    const row = await screen.findByTestId("desk-strategy-s1");
    expect(within(row).getByText("100,250.50")).toBeInTheDocument();
    expect(within(row).getByText("+250.50")).toBeInTheDocument();
    expect(screen.getByText("max_drawdown")).toBeInTheDocument();
  });

  it("a viewer sees no control button", async () => {
    routes();
    renderWith(<Desk />, { user: { name: "vera", kind: "user", roles: ["viewer"] } });
    await screen.findByTestId("hub-state");
    for (const id of ["killswitch-halt", "killswitch-reduce", "killswitch-flatten", "killswitch-resume"]) {
      expect(screen.queryByTestId(id)).toBeNull();
    }
    expect(screen.queryAllByRole("button")).toHaveLength(0);
  });

  it("flattens after a confirmation that says what happens, then shows each acknowledgement", async () => {
    const calls = routes();
    renderWith(<Desk />, { user: { name: "rita", kind: "user", roles: ["risk"] } });
    fireEvent.click(await screen.findByTestId("killswitch-flatten"));
    const dialog = screen.getByTestId("confirm-dialog");
    expect(dialog).toHaveTextContent("Flatten: every strategy halts, open orders are cancelled and every position is closed at market.");
    expect(screen.getByTestId("confirm-ok")).toBeDisabled(); // a reason first
    fireEvent.change(screen.getByTestId("confirm-reason"), { target: { value: "drill" } });
    fireEvent.click(screen.getByTestId("confirm-ok"));
    const ack = await screen.findByTestId("ack-s1");
    expect(ack).toHaveTextContent("acked");
    expect(ack).toHaveTextContent("2 order(s) cancelled");
    expect(ack).toHaveTextContent("flattened MSFT/USD");
    const post = calls.find((c) => c.method === "POST" && c.path === "/halt")!;
    expect(post.body).toMatchObject({ reason: "drill", flatten: true, cancel_open_orders: true, reduce_only: false });
    await waitFor(() => expect(screen.queryByTestId("confirm-dialog")).toBeNull());
  });

  it("cancel closes the dialog and sends nothing", async () => {
    const calls = routes();
    renderWith(<Desk />, { user: { name: "rita", kind: "user", roles: ["risk"] } });
    fireEvent.click(await screen.findByTestId("killswitch-halt"));
    fireEvent.click(screen.getByTestId("confirm-cancel"));
    expect(screen.queryByTestId("confirm-dialog")).toBeNull();
    expect(calls.some((c) => c.method === "POST")).toBe(false);
  });
});
