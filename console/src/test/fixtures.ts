import type { Strategy } from "../api/types";

export function strategy(p: Partial<Strategy>): Strategy {
  return {
    id: "s1",
    name: "sma on msft",
    type: "sma_cross",
    exchange: "paper",
    symbols: ["MSFT/USD"],
    interval_s: 10,
    params: { fast: 10, slow: 30, size: "1" },
    risk: {},
    status: "running",
    status_reason: "",
    workflow_id: "strategy-s1",
    created_by: "tom",
    code_version: "sha256:abc",
    created_at: "2024-05-01T12:00:00Z",
    updated_at: "2024-05-01T12:00:00Z",
    live: null,
    ...p,
  };
}
