// Shapes of the API's answers (api/schemas.py and the contracts they embed). Money and
// quantities arrive as decimal strings and stay strings: see lib/money.ts.

export type Dec = string;
export type Iso = string;

export interface Page<T> {
  data: T[];
  count: number;
}

export interface TokenAnswer {
  access_token: string;
  token_type: "bearer";
  expires_in: number;
  refresh_token: string;
}

export type Role = "viewer" | "trader" | "risk" | "admin";

export interface WhoAmI {
  name: string;
  kind: "user" | "key";
  roles: string[];
}

export interface Info {
  version: string;
  temporal_ui: string | null;
  namespace: string;
  four_eyes: boolean;
}

export interface StrategyAck {
  strategy_id: string;
  control_id: string;
  state: "pending" | "acked" | "failed" | "timeout";
  at: Iso | null;
  cancelled: number;
  flattened: string[];
  detail: string;
}

export interface LlmSpend {
  day: string;
  tokens: number;
  cost: Dec;
  calls: number;
  exhausted: boolean;
  action: string;
}

export interface CycleResult {
  cycle: number;
  started_at: Iso;
  finished_at: Iso;
  error: string;
  pnl?: {
    realised: Dec;
    unrealised: Dec;
    fees: Dec;
    equity: Dec;
    exposure: Dec;
    mismatches: string[];
  } | null;
}

export interface StrategyStatus {
  strategy_id: string;
  status: string;
  status_reason: string;
  halted_at: Iso | null;
  next_cycle: number;
  cycles_done: number;
  cycles_failed: number;
  params: Record<string, unknown>;
  last_cycle: CycleResult | null;
  recent_latencies_ms: number[];
  runs: number;
  hub_state: string;
  reduce_only: boolean;
  acks: StrategyAck[];
  llm: LlmSpend | null;
}

export interface Strategy {
  id: string;
  name: string;
  type: string;
  exchange: string;
  symbols: string[];
  interval_s: number;
  params: Record<string, unknown>;
  risk: Record<string, unknown>;
  status: string;
  status_reason: string;
  workflow_id: string;
  created_by: string;
  code_version: string;
  created_at: Iso;
  updated_at: Iso;
  live: StrategyStatus | null;
}

export interface StrategyCreated {
  id: string;
  workflow_id: string;
  status: string;
}

export interface StatusChange {
  strategy_id: string;
  status: string;
  at: Iso;
  ack: StrategyAck | null;
}

export interface JsonSchema {
  type?: string | string[];
  title?: string;
  description?: string;
  default?: unknown;
  enum?: unknown[];
  const?: unknown;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  items?: JsonSchema;
  minItems?: number;
  maxItems?: number;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
  $ref?: string;
  $defs?: Record<string, JsonSchema>;
  [key: string]: unknown;
}

export interface StrategyType {
  name: string;
  description: string;
  source: string;
  origin: string;
  code_version: string;
  warmup: number;
  params_schema: JsonSchema;
  defaults: Record<string, unknown>;
}

export interface Order {
  client_order_id: string;
  strategy_id: string;
  cycle: number;
  leg: number;
  symbol: string;
  side: string;
  type: string;
  qty: Dec;
  price: Dec | null;
  status: string;
  filled_qty: Dec;
  avg_price: Dec | null;
  fee: Dec;
  venue_order_id: string;
  reason: string;
  created_at: Iso;
  updated_at: Iso;
}

// Assumed shape of GET /fills (store.models.FillRow).
export interface Fill {
  fill_id: string;
  client_order_id: string;
  strategy_id: string;
  symbol: string;
  side: string;
  qty: Dec;
  price: Dec;
  fee: Dec;
  ts: Iso;
}

export interface Position {
  strategy_id: string;
  symbol: string;
  qty: Dec;
  avg_price: Dec;
  realised_pnl: Dec;
  fees: Dec;
  updated_at: Iso;
}

export interface Decision {
  id: number;
  strategy_id: string | null;
  cycle: number | null;
  analysis_id: string | null;
  symbol: string;
  target: string;
  confidence: number;
  rationale: string;
  signal: Record<string, unknown>;
  mode: string;
  as_of: Iso | null;
  model: string;
  tokens_in: number;
  tokens_out: number;
  cost: Dec;
  latency_ms: number;
  error: string;
  code_version: string;
  created_at: Iso;
}

export interface DecisionDetail extends Decision {
  prompt_hash: string;
  inputs: Record<string, unknown> | null;
  output: Record<string, unknown> | null;
}

export interface Pnl {
  strategy_id: string;
  cycle: number;
  ts: Iso;
  realised: Dec;
  unrealised: Dec;
  fees: Dec;
  equity: Dec;
  exposure: Dec;
}

export interface EventRow {
  kind: string;
  strategy_id: string | null;
  cycle: number | null;
  symbol: string | null;
  reason: string;
  data: Record<string, unknown> | null;
  created_at: Iso;
}

export interface BreakerStatus {
  name: string;
  value: Dec;
  limit: Dec;
  headroom: Dec;
  tripped: boolean;
  armed: boolean;
  detail: string;
}

export interface StrategyReport {
  strategy_id: string;
  cycle: number;
  at: Iso;
  equity: Dec;
  exposure: Dec;
  realised: Dec;
  unrealised: Dec;
  fees: Dec;
}

export interface StrategyEntry {
  strategy_id: string;
  name: string;
  workflow_id: string;
  capital: Dec;
  status: string;
  reduce_only: boolean;
  last_report: StrategyReport | null;
  peak_equity: Dec;
  day_start_equity: Dec | null;
  readings: BreakerStatus[];
}

export interface ControlRecord {
  control_id: string;
  state: string;
  scope: string;
  reason: string;
  actor: string;
  flatten: boolean;
  requested_at: Iso;
  gate_changed_at: Iso;
  acks: Record<string, StrategyAck>;
}

export interface HubStatus {
  hub_id: string;
  state: "active" | "reducing" | "halted";
  reason: string;
  actor: string;
  since: Iso | null;
  strategies: StrategyEntry[];
  breakers: BreakerStatus[];
  exposure: Dec;
  equity: Dec;
  daily_pnl: Dec;
  last_control: ControlRecord | null;
  day_started_at: Iso | null;
  signals_received: number;
  reports_received: number;
  runs: number;
}

export interface ControlAnswer {
  control_id: string;
  hub_id: string;
  state: string;
  reason: string;
  actor: string;
  requested_at: Iso;
  gate_changed_at: Iso;
  answered_at: Iso;
  strategies: StrategyAck[];
  cancelled_orders: string[];
  cancel_failures: Record<string, string>;
  unacknowledged_strategies: string[];
  gate_latency_ms: number;
  note: string;
}

export interface Approval {
  id: string;
  strategy_id: string;
  cycle: number;
  workflow_id: string;
  client_order_id: string;
  symbol: string;
  side: string;
  qty: Dec;
  price: Dec;
  notional: Dec;
  status: string;
  requested_at: Iso;
  expires_at: Iso;
  decided_at: Iso | null;
  decided_by: string;
  reason: string;
}

export interface ApprovalOutcome {
  approval_id: string;
  status: string;
  decided_by: string;
  reason: string;
  decided_at: Iso | null;
}

export interface NewsItem {
  id: number;
  source: string;
  guid: string;
  url: string;
  title: string;
  summary: string;
  published_at: Iso;
  ingested_at: Iso;
  symbols: string[];
  sentiment: number;
  sentiment_method: string;
  content_hash: string;
}

export interface Progress {
  done: number;
  total: number;
}

export interface Started {
  id: string;
  workflow_id: string;
  status: string;
}

export interface EquityCurve {
  ts: string[];
  equity: number[];
  drawdown: number[];
}

export interface BacktestTrade {
  entry_ts: number;
  exit_ts: number | null;
  side: string;
  size: number;
  entry_price: number;
  exit_price: number | null;
  pnl: number;
  commission: number;
  exit_reason: string;
}

export interface Backtest {
  id: string;
  workflow_id: string;
  status: string;
  request: Record<string, unknown>;
  created_by?: string;
  metrics: Record<string, number | null> | null;
  trades?: BacktestTrade[] | null;
  equity?: EquityCurve | null;
  conventions?: string;
  error: string;
  created_at: Iso;
  finished_at: Iso | null;
  progress?: Progress | null;
}

export interface Evaluation {
  params: Record<string, unknown>;
  score: number | string | null;
  metrics?: Record<string, number | null>;
}

export interface Optimization {
  id: string;
  workflow_id: string;
  status: string;
  request: Record<string, unknown>;
  created_by?: string;
  total: number;
  done: number;
  best_params: Record<string, unknown> | null;
  best_score: number | null;
  best_metrics: Record<string, number | null> | null;
  top?: Evaluation[] | null;
  walk_forward?: Record<string, unknown>[] | null;
  error: string;
  created_at: Iso;
  finished_at: Iso | null;
  progress?: Progress | null;
}

export interface Candle {
  ts: Iso;
  open: Dec;
  high: Dec;
  low: Dec;
  close: Dec;
  volume: Dec;
}

export interface Gap {
  after: Iso;
  before: Iso;
  missing: number;
}

export interface SeriesStatus {
  exchange: string;
  symbol: string;
  timeframe: string;
  first: Iso | null;
  last: Iso | null;
  count: number;
  gap_count: number;
  missing: number;
  gaps: Gap[];
}

export interface GapPage {
  data: Gap[];
  count: number;
  missing: number;
}

export interface User {
  username: string;
  roles: string[];
  disabled: boolean;
  created_by: string;
  created_at: Iso;
}

export interface ApiKey {
  id: string;
  name: string;
  role: string;
  created_by: string;
  created_at: Iso;
  revoked_at: Iso | null;
}

export interface ApiKeyCreated extends ApiKey {
  key: string;
}
