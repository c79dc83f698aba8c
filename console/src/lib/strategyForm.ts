// The common fields of POST /strategies (api.schemas.StrategyCreate) beside the type's params,
// and the request body built from a form's values.

import type { FieldSpec, FormValues } from "./schemaForm";
import { collect, nest } from "./schemaForm";

const DURATION = "^\\s*[0-9]{1,12}(\\.[0-9]{1,9})?\\s*(ms|s|m|h)?\\s*$";
const DEC = (name: string, label: string, extra: Partial<FieldSpec> = {}): FieldSpec => ({
  name,
  label,
  kind: "decimal",
  required: false,
  nullable: true,
  ...extra,
});

export const BASIC_FIELDS: FieldSpec[] = [
  { name: "name", label: "Name", kind: "string", required: true, nullable: false, minLength: 1, maxLength: 100, placeholder: "sma on msft" },
  {
    name: "symbols",
    label: "Symbols",
    kind: "string-list",
    required: true,
    nullable: false,
    minItems: 1,
    maxItems: 50,
    itemMaxLength: 64,
    uniqueItems: true,
    placeholder: "MSFT/USD, GOOGL/USD",
    description: "what it trades",
  },
  { name: "exchange", label: "Exchange", kind: "string", required: true, nullable: false, default: "paper", maxLength: 64, description: "paper or a configured venue" },
  {
    name: "interval",
    label: "Cycle interval",
    kind: "string",
    required: false,
    nullable: false,
    default: "10s",
    maxLength: 32,
    pattern: DURATION,
    description: "seconds, or 500ms, 5s, 1m, 1h",
  },
  DEC("capital", "Capital", { default: "100000", exclusiveMinimum: 0, maximum: 1e15, nullable: false, description: "quote currency" }),
];

export const SIZING_MODES = ["fixed_qty", "fixed_notional", "equity_fraction", "risk_per_trade"] as const;
export const SIZING_FIELDS: FieldSpec[] = [
  {
    name: "sizing.mode",
    label: "Sizing",
    kind: "enum",
    required: false,
    nullable: true,
    options: [...SIZING_MODES],
    description: "none: a fixed quantity of params.size",
  },
  { name: "sizing.units", label: "Units", kind: "enum", required: false, nullable: true, options: ["fractional", "whole"] },
  DEC("sizing.qty", "Quantity", { exclusiveMinimum: 0, maximum: 1e12 }),
  DEC("sizing.notional", "Notional", { exclusiveMinimum: 0, maximum: 1e15 }),
  DEC("sizing.fraction", "Equity fraction", { exclusiveMinimum: 0, maximum: 1 }),
  DEC("sizing.risk", "Risk per trade", { exclusiveMinimum: 0, exclusiveMaximum: 1, description: "fraction of equity" }),
  DEC("sizing.stop", "Stop distance", { exclusiveMinimum: 0, exclusiveMaximum: 1, description: "fraction of the price" }),
];

/** The sizing fields each mode takes. */
export const SIZING_AMOUNTS: Record<string, string[]> = {
  fixed_qty: ["sizing.qty"],
  fixed_notional: ["sizing.notional"],
  equity_fraction: ["sizing.fraction"],
  risk_per_trade: ["sizing.risk", "sizing.stop"],
};

export const RISK_FIELDS: FieldSpec[] = [
  DEC("risk.max_position_qty", "Max position qty", { exclusiveMinimum: 0 }),
  DEC("risk.max_order_notional", "Max order notional", { exclusiveMinimum: 0 }),
  DEC("risk.max_daily_loss", "Max daily loss", { exclusiveMinimum: 0 }),
  DEC("risk.max_drawdown", "Max drawdown", { exclusiveMinimum: 0, exclusiveMaximum: 1, description: "fraction of peak equity" }),
  DEC("breakers.daily_loss", "Breaker: daily loss", { exclusiveMinimum: 0 }),
  DEC("breakers.max_drawdown", "Breaker: max drawdown", { exclusiveMinimum: 0, exclusiveMaximum: 1 }),
  { name: "breakers.max_consecutive_losses", label: "Breaker: consecutive losses", kind: "integer", required: false, nullable: true, minimum: 1 },
  { name: "breakers.action", label: "Breaker action", kind: "enum", required: false, nullable: true, options: ["halt", "reduce"] },
  DEC("approval_notional", "Approval above notional", { exclusiveMinimum: 0, maximum: 1e15, description: "orders above it wait for a risk user" }),
  { name: "approval_timeout", label: "Approval timeout", kind: "string", required: false, nullable: false, default: "5m", pattern: DURATION, maxLength: 32 },
];

export const ADVANCED_FIELDS: FieldSpec[] = [
  { name: "llm_budget.daily_tokens", label: "LLM daily tokens", kind: "integer", required: false, nullable: true, minimum: 0, maximum: 1e12 },
  DEC("llm_budget.daily_cost", "LLM daily cost", { minimum: 0, maximum: 1e9 }),
  { name: "llm_budget.on_exhausted", label: "When the LLM budget is spent", kind: "enum", required: false, nullable: true, options: ["fallback", "halt"] },
  { name: "step_mode", label: "Step mode", kind: "enum", required: false, nullable: false, default: "local", options: ["local", "activity"] },
  { name: "params_from", label: "Params from optimisation", kind: "string", required: false, nullable: true, maxLength: 64, description: "a finished optimisation's id: its best parameters" },
];

export const COMMON_FIELDS: FieldSpec[] = [...BASIC_FIELDS, ...SIZING_FIELDS, ...RISK_FIELDS, ...ADVANCED_FIELDS];
export const COMMON_KEYS = ["type", "params", ...COMMON_FIELDS.map((f) => f.name)];

/** The sizing fields that apply to the chosen mode (the others are ignored and not checked). */
export function activeCommonFields(values: FormValues): FieldSpec[] {
  const mode = String(values["sizing.mode"] ?? "");
  const amounts = new Set(SIZING_AMOUNTS[mode] ?? []);
  return COMMON_FIELDS.filter((f) => {
    if (!f.name.startsWith("sizing.") || f.name === "sizing.mode") return true;
    if (!mode) return false;
    return f.name === "sizing.units" || amounts.has(f.name);
  });
}

export interface StartBody {
  body: Record<string, unknown>;
  errors: Record<string, string>;
}

/** The body of POST /strategies from the common values and the already-collected params. */
export function startBody(type: string, values: FormValues, params: Record<string, unknown>): StartBody {
  const fields = activeCommonFields(values);
  const c = collect(fields, values);
  const errors = { ...c.errors };
  if (!type) errors.type = "choose a strategy type";
  const body = nest(c.values);
  body.type = type;
  body.params = params;
  const sizing = body.sizing as Record<string, unknown> | undefined;
  if (sizing) {
    if (!sizing.mode) delete body.sizing;
    else for (const f of SIZING_AMOUNTS[String(sizing.mode)] ?? []) if (!(f.slice(7) in sizing)) errors[f] = "required for this sizing";
  }
  return { body, errors };
}
