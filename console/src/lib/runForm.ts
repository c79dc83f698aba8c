// POST /backtests and POST /optimizations: the fields beside the strategy's params
// (api.routes.opticore.BacktestCreate, OptimizationCreate; activities.opticore_contracts).

import type { FieldSpec, FormValues } from "./schemaForm";
import { collect, nest } from "./schemaForm";

const dec = (name: string, label: string, extra: Partial<FieldSpec> = {}): FieldSpec => ({
  name,
  label,
  kind: "number",
  required: false,
  nullable: true,
  ...extra,
});

export const DATA_SOURCES = ["symbol", "store", "csv_path"] as const;
export type DataSource = (typeof DATA_SOURCES)[number];

export const DATA_FIELDS: Record<DataSource, FieldSpec[]> = {
  symbol: [{ name: "data.symbol", label: "Bundled series", kind: "string", required: true, nullable: false, maxLength: 64, default: "MSFT/USD", description: "a series shipped with the API" }],
  store: [
    { name: "data.store.exchange", label: "Exchange", kind: "string", required: true, nullable: false, default: "paper", maxLength: 64 },
    { name: "data.store.symbol", label: "Symbol", kind: "string", required: true, nullable: false, maxLength: 64 },
    { name: "data.store.timeframe", label: "Timeframe", kind: "string", required: true, nullable: false, maxLength: 8, default: "1h" },
    { name: "data.store.start", label: "From (UTC)", kind: "string", required: false, nullable: true, placeholder: "2024-01-01T00:00:00Z" },
    { name: "data.store.end", label: "To (UTC)", kind: "string", required: false, nullable: true, placeholder: "2024-06-01T00:00:00Z" },
  ],
  csv_path: [
    { name: "data.csv_path", label: "CSV file", kind: "string", required: true, nullable: false, minLength: 1, maxLength: 1024, description: "under the data directory (POST /data/files)" },
    { name: "data.tz", label: "Time zone", kind: "string", required: false, nullable: true, maxLength: 64, placeholder: "UTC" },
  ],
};

export const LAST_FIELD: FieldSpec = { name: "data.last", label: "Last N bars", kind: "integer", required: false, nullable: true, minimum: 10, maximum: 10_000_000 };

export const SETTINGS_FIELDS: FieldSpec[] = [
  dec("settings.cash", "Cash", { default: 10000, exclusiveMinimum: 0, maximum: 1e15, nullable: false }),
  dec("settings.commission", "Commission", { default: 0, minimum: 0, exclusiveMaximum: 1, nullable: false, description: "fraction of notional" }),
  dec("settings.slippage_bps", "Slippage (bps)", { default: 0, minimum: 0, exclusiveMaximum: 10000, nullable: false }),
  dec("settings.fraction", "Equity fraction", { exclusiveMinimum: 0, maximum: 1 }),
  { name: "settings.units", label: "Units", kind: "enum", required: false, nullable: false, default: "fractional", options: ["fractional", "whole"] },
  { name: "settings.direction", label: "Direction", kind: "enum", required: false, nullable: false, default: "long", options: ["long", "long_short"] },
  dec("settings.stop_loss", "Stop loss", { exclusiveMinimum: 0, exclusiveMaximum: 1, description: "fraction" }),
  dec("settings.take_profit", "Take profit", { exclusiveMinimum: 0, maximum: 1000, description: "fraction" }),
  { name: "settings.close_at_end", label: "Close at end", kind: "boolean", required: false, nullable: false, default: true },
  dec("settings.bars_per_year", "Bars per year", { exclusiveMinimum: 0, maximum: 1e9 }),
];

export const METHODS = ["grid", "random", "differential_evolution", "lbfgsb", "nelder_mead"] as const;
export const OBJECTIVES = ["sharpe", "sortino", "calmar", "return", "return_over_drawdown"] as const;

export const SEARCH_FIELDS: FieldSpec[] = [
  { name: "method", label: "Method", kind: "enum", required: false, nullable: false, default: "grid", options: [...METHODS] },
  { name: "objective", label: "Objective", kind: "enum", required: false, nullable: false, default: "sharpe", options: [...OBJECTIVES] },
  { name: "steps", label: "Grid points per param", kind: "integer", required: false, nullable: true, minimum: 2, maximum: 20000, description: "grid; ints: every integer when empty" },
  { name: "n", label: "Evaluations", kind: "integer", required: false, nullable: false, default: 200, minimum: 1, maximum: 20000, description: "random / evolution" },
  { name: "seed", label: "Seed", kind: "integer", required: false, nullable: false, default: 0, minimum: 0 },
  { name: "chunk_size", label: "Chunk size", kind: "integer", required: false, nullable: false, default: 100, minimum: 1, maximum: 100000 },
  { name: "constraints", label: "Constraints", kind: "string-list", required: false, nullable: true, maxItems: 32, placeholder: "fast < slow" },
  { name: "walk_forward.train", label: "Walk-forward train bars", kind: "integer", required: false, nullable: true, minimum: 20 },
  { name: "walk_forward.test", label: "Walk-forward test bars", kind: "integer", required: false, nullable: true, minimum: 5 },
  { name: "walk_forward.step", label: "Walk-forward step", kind: "integer", required: false, nullable: true, minimum: 1 },
  { name: "walk_forward.anchored", label: "Anchored", kind: "boolean", required: false, nullable: false, default: false },
];

/** One searched parameter: low and high (and a step), as typed. */
export interface SpaceRow {
  on: boolean;
  low: string;
  high: string;
  step: string;
}

export function spaceFrom(rows: Record<string, SpaceRow>, kinds: Record<string, "integer" | "number">): { space: Record<string, number[]>; errors: Record<string, string> } {
  const space: Record<string, number[]> = {};
  const errors: Record<string, string> = {};
  for (const [name, r] of Object.entries(rows)) {
    if (!r.on) continue;
    const isInt = kinds[name] === "integer";
    const parse = (t: string) => (t.trim() === "" ? null : isInt ? (/^[+-]?\d+$/.test(t.trim()) ? Number(t) : NaN) : Number(t));
    const lo = parse(r.low);
    const hi = parse(r.high);
    const st = parse(r.step);
    if (lo === null || hi === null || Number.isNaN(lo) || Number.isNaN(hi)) {
      errors[`space.${name}`] = isInt ? "low and high must be integers" : "low and high must be numbers";
      continue;
    }
    if (lo > hi) {
      errors[`space.${name}`] = "low must not be above high";
      continue;
    }
    if (st !== null && (Number.isNaN(st) || st <= 0)) {
      errors[`space.${name}`] = "step must be positive";
      continue;
    }
    space[name] = st === null ? [lo, hi] : [lo, hi, st];
  }
  if (!Object.keys(space).length) errors.space = "search at least one parameter";
  return { space, errors };
}

export interface RunBody {
  body: Record<string, unknown>;
  errors: Record<string, string>;
}

/** data + settings (+ search fields) from the form. */
export function runCommon(source: DataSource, values: FormValues, withSearch: boolean): RunBody {
  const fields = [...DATA_FIELDS[source], LAST_FIELD, ...SETTINGS_FIELDS, ...(withSearch ? SEARCH_FIELDS : [])];
  const c = collect(fields, values);
  const flat = { ...c.values };
  if (withSearch && !("walk_forward.train" in flat) && !("walk_forward.test" in flat)) {
    delete flat["walk_forward.step"];
    delete flat["walk_forward.anchored"];
  }
  const body = nest(flat);
  return { body, errors: c.errors };
}
