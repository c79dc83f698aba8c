import type { Order } from "../api/types";
import { orderMarkers, within } from "./markers";

function order(p: Partial<Order>): Order {
  return {
    client_order_id: "c",
    strategy_id: "s1",
    cycle: 1,
    leg: 0,
    symbol: "MSFT/USD",
    side: "buy",
    type: "market",
    qty: "1",
    price: null,
    status: "filled",
    filled_qty: "1",
    avg_price: "100",
    fee: "0",
    venue_order_id: "",
    reason: "",
    created_at: "2024-01-01T00:00:00Z",
    updated_at: "2024-01-01T00:00:00Z",
    ...p,
  };
}

describe("trade markers", () => {
  it("marks buys as entries, sells as exits, flattening as stops; skips unfilled and other symbols", () => {
    const m = orderMarkers(
      [
        order({ side: "buy" }),
        order({ side: "sell", updated_at: "2024-01-01T01:00:00Z" }),
        order({ side: "sell", reason: "flatten: kill switch" }),
        order({ side: "buy", filled_qty: "0" }),
        order({ symbol: "GOOGL/USD" }),
      ],
      "MSFT/USD",
    );
    expect(m.map((x) => x.kind)).toEqual(["entry", "exit", "stop"]);
    expect(within(m, 0, Date.parse("2024-01-01T00:30:00Z") / 1000)).toHaveLength(2);
  });
});
