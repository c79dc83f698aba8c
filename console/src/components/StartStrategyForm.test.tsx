import { clearBanner } from "../lib/banner";
import { cleanup, fireEvent, screen, waitFor } from "@testing-library/react";

import type { StrategyType } from "../api/types";
import strategyTypesJson from "../test/strategy-types.json";
import { mockApi, renderWith } from "../test/utils";
import { StartStrategyForm } from "./StartStrategyForm";

const types = strategyTypesJson as unknown as StrategyType[];
const trader = { name: "tom", kind: "user" as const, roles: ["trader"] };

function fill(testId: string, value: string) {
  fireEvent.change(screen.getByTestId(testId), { target: { value } });
}

describe("start form", () => {
  afterEach(() => {
    vi.unstubAllGlobals();
    cleanup();
    clearBanner();
  });

  function setup(route: Parameters<typeof mockApi>[0] = () => undefined) {
    const calls = mockApi(route);
    const onStarted = vi.fn();
    renderWith(<StartStrategyForm types={types} onStarted={onStarted} />, { user: trader });
    fireEvent.change(screen.getByTestId("field-type"), { target: { value: "sma_cross" } });
    return { calls, onStarted };
  }

  it("is generated from the type's params schema with defaults prefilled", () => {
    setup();
    expect(screen.getByTestId("start-form")).toBeInTheDocument();
    expect(screen.getByTestId("field-fast")).toHaveValue("10");
    expect(screen.getByTestId("field-slow")).toHaveValue("30");
    expect(screen.getByText(/Bars in the fast SMA/)).toBeInTheDocument();
  });

  it("checks bounds and required fields before sending anything", async () => {
    const { calls } = setup();
    fill("field-fast", "0");
    fill("field-slow", "2.5");
    fireEvent.click(screen.getByTestId("start-submit"));
    expect(await screen.findByTestId("field-error-fast")).toHaveTextContent("must be greater than or equal to 1");
    expect(screen.getByTestId("field-error-slow")).toHaveTextContent("must be an integer");
    expect(screen.getByTestId("field-error-name")).toHaveTextContent("required");
    expect(screen.getByTestId("field-error-symbols")).toHaveTextContent("required");
    expect(calls).toHaveLength(0);
  });

  it("shows the server's 422 at the field", async () => {
    const { calls } = setup(({ method, path }) =>
      method === "POST" && path === "/strategies"
        ? { status: 422, body: { detail: "…", errors: ["params.slow: Input should be greater than fast", "symbols.0: unknown symbol"] } }
        : undefined,
    );
    fill("field-name", "sma test");
    fill("field-symbols", "MSFT/USD");
    fireEvent.click(screen.getByTestId("start-submit"));
    expect(await screen.findByTestId("field-error-slow")).toHaveTextContent("Input should be greater than fast");
    expect(screen.getByTestId("field-error-symbols")).toHaveTextContent("unknown symbol");
    expect(calls[0].headers["Content-Type"]).toBe("application/json");
    expect(calls[0].headers.Authorization).toBe("Bearer test-access");
  });

  it("sends the common fields and typed params", async () => {
    const { calls, onStarted } = setup(({ method, path }) =>
      method === "POST" && path === "/strategies" ? { status: 201, body: { id: "s9", workflow_id: "strategy-s9", status: "running" } } : undefined,
    );
    fill("field-name", "sma test");
    fill("field-symbols", "MSFT/USD, GOOGL/USD");
    fill("field-fast", "5");
    fill("field-capital", "2500.50");
    fireEvent.click(screen.getByTestId("start-submit"));
    await waitFor(() => expect(onStarted).toHaveBeenCalledWith({ id: "s9", workflow_id: "strategy-s9", status: "running" }));
    expect(calls[0].body).toMatchObject({
      name: "sma test",
      type: "sma_cross",
      symbols: ["MSFT/USD", "GOOGL/USD"],
      exchange: "paper",
      interval: "10s",
      capital: "2500.50",
      params: { fast: 5, slow: 30, size: "1" },
    });
    expect(calls[0].body).not.toHaveProperty("sizing");
  });
});
