// JSON Schema (as pydantic writes it for a strategy type's params) to form fields, client-side
// validation of what was typed, and the values to send.

import type { JsonSchema } from "../api/types";

export type FieldKind = "number" | "integer" | "decimal" | "string" | "enum" | "boolean" | "string-list" | "json";

/** The bounds a field checks: JSON Schema's own keywords, with the meaning they have there. */
type SchemaBounds = Pick<
  JsonSchema,
  "minimum" | "maximum" | "exclusiveMinimum" | "exclusiveMaximum" | "minLength" | "maxLength" | "pattern" | "minItems" | "maxItems"
>;

export interface FieldSpec extends SchemaBounds {
  name: string;
  kind: FieldKind;
  label: string;
  description?: string;
  required: boolean;
  /** null is allowed (an empty input sends nothing, or null when ``sendNull``). */
  nullable: boolean;
  default?: unknown;
  options?: unknown[];
  itemPattern?: string;
  itemMaxLength?: number;
  uniqueItems?: boolean;
  placeholder?: string;
}

/** What an input holds: text for every kind but booleans. */
export type FormValue = string | boolean;
export type FormValues = Record<string, FormValue>;

function resolve(schema: JsonSchema, root: JsonSchema): JsonSchema {
  let s = schema;
  for (let i = 0; i < 8 && s.$ref; i++) {
    const m = /^#\/(\$defs|definitions)\/(.+)$/.exec(s.$ref);
    const defs = (m && (root[m[1]] as Record<string, JsonSchema> | undefined)) || undefined;
    const target = m && defs ? defs[m[2]] : undefined;
    if (!target) break;
    const { $ref: _ref, ...rest } = s;
    void _ref;
    s = { ...target, ...rest };
  }
  if (s.allOf && s.allOf.length === 1) {
    const { allOf, ...rest } = s;
    s = { ...resolve(allOf[0], root), ...rest };
  }
  return s;
}

function types(s: JsonSchema): string[] {
  if (Array.isArray(s.type)) return s.type;
  return s.type ? [s.type] : [];
}

function num(v: unknown): number | undefined {
  return typeof v === "number" && Number.isFinite(v) ? v : undefined;
}

function titleOf(name: string): string {
  const t = name.replace(/_/g, " ");
  return t.charAt(0).toUpperCase() + t.slice(1);
}

/** One field of a property schema. */
export function fieldFromSchema(
  name: string,
  prop: JsonSchema,
  required: boolean,
  root: JsonSchema = prop,
): FieldSpec {
  let s = resolve(prop, root);
  let nullable = false;
  const branches = s.anyOf ?? s.oneOf;
  let kind: FieldKind | null = null;
  if (branches) {
    const resolved = branches.map((b) => resolve(b, root));
    const nonNull = resolved.filter((b) => !(types(b).length === 1 && types(b)[0] === "null"));
    nullable = nonNull.length < resolved.length;
    const numberBranch = nonNull.find((b) => types(b).includes("number") || types(b).includes("integer"));
    const stringBranch = nonNull.find((b) => types(b).includes("string") && !b.enum);
    if (nonNull.length === 1) {
      s = { ...nonNull[0], ...stripBranches(s) };
    } else if (nonNull.length === 2 && numberBranch && stringBranch) {
      // a decimal given as a number or an exact string (pydantic's Decimal, durations)
      s = { ...stringBranch, ...numberBranch, ...stripBranches(s) };
      kind = types(numberBranch).includes("integer") && !stringBranch.pattern ? "integer" : "decimal";
      if (stringBranch.pattern) {
        kind = "string";
        s = { ...stringBranch, ...stripBranches(s) };
      }
    } else if (nonNull.every((b) => b.enum || b.const !== undefined)) {
      s = { ...stripBranches(s), enum: nonNull.flatMap((b) => (b.enum ? b.enum : [b.const])) };
    } else {
      kind = "json";
    }
  }
  const t = types(s).filter((x) => x !== "null");
  if (types(s).includes("null")) nullable = true;
  if (!kind) {
    if (s.enum) kind = "enum";
    else if (s.const !== undefined) kind = "enum";
    else if (t.includes("boolean")) kind = "boolean";
    else if (t.includes("integer")) kind = "integer";
    else if (t.includes("number")) kind = "number";
    else if (t.includes("array")) {
      const items = s.items ? resolve(s.items, root) : {};
      kind = types(items).includes("string") || !items.type ? "string-list" : "json";
    } else if (t.includes("object")) kind = "json";
    else kind = "string";
  }
  const items = s.items ? resolve(s.items, root) : undefined;
  return {
    name,
    kind,
    label: typeof s.title === "string" ? s.title : titleOf(name),
    description: typeof s.description === "string" ? s.description : undefined,
    required,
    nullable,
    default: s.default,
    // "ge"/"le" are not JSON Schema, but some params schemas carry them: read them as bounds.
    minimum: num(s.minimum) ?? num(s.ge),
    maximum: num(s.maximum) ?? num(s.le),
    exclusiveMinimum: num(s.exclusiveMinimum) ?? num(s.gt),
    exclusiveMaximum: num(s.exclusiveMaximum) ?? num(s.lt),
    minLength: num(s.minLength),
    maxLength: num(s.maxLength),
    pattern: typeof s.pattern === "string" ? s.pattern : undefined,
    options: s.enum ?? (s.const !== undefined ? [s.const] : undefined),
    minItems: num(s.minItems),
    maxItems: num(s.maxItems),
    itemPattern: items && typeof items.pattern === "string" ? items.pattern : undefined,
    itemMaxLength: items ? num(items.maxLength) : undefined,
    uniqueItems: s.uniqueItems === true,
  };
}

function stripBranches(s: JsonSchema): JsonSchema {
  const { anyOf: _a, oneOf: _o, type: _t, ...rest } = s;
  void _a;
  void _o;
  void _t;
  return rest;
}

/** The fields of an object schema, in its properties' order. */
export function fieldsFromSchema(schema: JsonSchema | null | undefined): FieldSpec[] {
  if (!schema) return [];
  const root = schema;
  const s = resolve(schema, root);
  const required = new Set(s.required ?? []);
  return Object.entries(s.properties ?? {}).map(([name, prop]) =>
    fieldFromSchema(name, prop, required.has(name), root),
  );
}

/** What an input shows for a value (a default, a strategy's current params). */
export function toInput(spec: FieldSpec, value: unknown): FormValue {
  if (spec.kind === "boolean") return value === true;
  if (value === undefined || value === null) return "";
  if (spec.kind === "string-list") return Array.isArray(value) ? value.map(String).join(", ") : String(value);
  if (spec.kind === "json") return JSON.stringify(value);
  return String(value);
}

/** The inputs' first values: ``values`` (e.g. the type's defaults), else each field's default. */
export function initialValues(fields: FieldSpec[], values: Record<string, unknown> = {}): FormValues {
  const out: FormValues = {};
  for (const f of fields) out[f.name] = toInput(f, f.name in values ? values[f.name] : f.default);
  return out;
}

const DECIMAL_TEXT = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

function fmt(n: number): string {
  return String(n);
}

function checkBounds(spec: FieldSpec, n: number): string | null {
  if (spec.minimum !== undefined && n < spec.minimum) return `must be greater than or equal to ${fmt(spec.minimum)}`;
  if (spec.maximum !== undefined && n > spec.maximum) return `must be less than or equal to ${fmt(spec.maximum)}`;
  if (spec.exclusiveMinimum !== undefined && n <= spec.exclusiveMinimum) {
    return `must be greater than ${fmt(spec.exclusiveMinimum)}`;
  }
  if (spec.exclusiveMaximum !== undefined && n >= spec.exclusiveMaximum) {
    return `must be less than ${fmt(spec.exclusiveMaximum)}`;
  }
  return null;
}

function checkString(spec: FieldSpec, text: string, what = "value"): string | null {
  if (spec.minLength !== undefined && text.length < spec.minLength) {
    return `must have at least ${spec.minLength} character${spec.minLength === 1 ? "" : "s"}`;
  }
  if (spec.maxLength !== undefined && text.length > spec.maxLength) {
    return `must have at most ${spec.maxLength} characters`;
  }
  if (spec.pattern && !safeTest(spec.pattern, text)) return `${what} does not match the expected format`;
  return null;
}

function safeTest(pattern: string, text: string): boolean {
  try {
    return new RegExp(pattern, "u").test(text);
  } catch {
    return true; // a pattern this browser cannot read: the server checks it
  }
}

export type Parsed = { ok: true; value: unknown; omit: boolean } | { ok: false; error: string };

/** ``value`` to send when the number ``n`` is within the field's bounds, else the bound it breaks. */
function bounded(spec: FieldSpec, n: number, value: unknown = n): Parsed {
  const e = checkBounds(spec, n);
  return e ? { ok: false, error: e } : { ok: true, value, omit: false };
}

/** Check one input against its field and convert it to the value to send. */
export function parseField(spec: FieldSpec, raw: FormValue | undefined): Parsed {
  if (spec.kind === "boolean") return { ok: true, value: raw === true, omit: false };
  const text = typeof raw === "string" ? raw.trim() : "";
  if (text === "") {
    if (spec.required && !spec.nullable) return { ok: false, error: "required" };
    return { ok: true, value: null, omit: true };
  }
  switch (spec.kind) {
    case "integer": {
      if (!/^[+-]?\d+$/.test(text)) return { ok: false, error: "must be an integer" };
      const n = Number(text);
      if (!Number.isSafeInteger(n)) return { ok: false, error: "is too large" };
      return bounded(spec, n);
    }
    case "number": {
      if (!DECIMAL_TEXT.test(text)) return { ok: false, error: "must be a number" };
      const n = Number(text);
      if (!Number.isFinite(n)) return { ok: false, error: "must be a finite number" };
      return bounded(spec, n);
    }
    case "decimal": {
      if (!DECIMAL_TEXT.test(text)) return { ok: false, error: "must be a number" };
      // sent as the exact text typed: a decimal never goes through a float
      return bounded(spec, Number(text), text);
    }
    case "enum": {
      const found = (spec.options ?? []).find((o) => String(o) === text);
      if (found === undefined) {
        return { ok: false, error: `must be one of ${(spec.options ?? []).map(String).join(", ")}` };
      }
      return { ok: true, value: found, omit: false };
    }
    case "string-list": {
      const items = text
        .split(",")
        .map((x) => x.trim())
        .filter((x) => x !== "");
      if (spec.minItems !== undefined && items.length < spec.minItems) {
        return { ok: false, error: `needs at least ${spec.minItems} item${spec.minItems === 1 ? "" : "s"}` };
      }
      if (spec.maxItems !== undefined && items.length > spec.maxItems) {
        return { ok: false, error: `takes at most ${spec.maxItems} items` };
      }
      if (spec.uniqueItems && new Set(items).size !== items.length) return { ok: false, error: "items must not repeat" };
      for (const item of items) {
        if (spec.itemMaxLength !== undefined && item.length > spec.itemMaxLength) {
          return { ok: false, error: `${item.slice(0, 20)}… is longer than ${spec.itemMaxLength} characters` };
        }
        if (spec.itemPattern && !safeTest(spec.itemPattern, item)) {
          return { ok: false, error: `${item} does not match the expected format` };
        }
      }
      return { ok: true, value: items, omit: false };
    }
    case "json": {
      try {
        return { ok: true, value: JSON.parse(text), omit: false };
      } catch {
        return { ok: false, error: "must be valid JSON" };
      }
    }
    case "string":
    default: {
      const e = checkString(spec, text);
      return e ? { ok: false, error: e } : { ok: true, value: text, omit: false };
    }
  }
}

/** The error of one input, or null. */
export function validateField(spec: FieldSpec, raw: FormValue | undefined): string | null {
  const r = parseField(spec, raw);
  return r.ok ? null : r.error;
}

export interface Collected {
  values: Record<string, unknown>;
  errors: Record<string, string>;
}

/** Check every input; the values to send (empty optional inputs left out) and the errors. */
export function collect(fields: FieldSpec[], values: FormValues): Collected {
  const out: Collected = { values: {}, errors: {} };
  for (const f of fields) {
    const r = parseField(f, values[f.name]);
    if (!r.ok) out.errors[f.name] = r.error;
    else if (!r.omit) out.values[f.name] = r.value;
  }
  return out;
}

/** A short hint of a field's bounds ("2 ≤ x ≤ 1000"). */
export function boundsHint(spec: FieldSpec): string {
  const lo =
    spec.minimum !== undefined ? `${spec.minimum} ≤ ` : spec.exclusiveMinimum !== undefined ? `${spec.exclusiveMinimum} < ` : "";
  const hi =
    spec.maximum !== undefined ? ` ≤ ${spec.maximum}` : spec.exclusiveMaximum !== undefined ? ` < ${spec.exclusiveMaximum}` : "";
  if (!lo && !hi) return "";
  return `${lo}x${hi}`;
}

/** Dotted keys to nested objects: {"data.store.symbol": v} → {data: {store: {symbol: v}}}. */
export function nest(flat: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(flat)) {
    const parts = k.split(".");
    let o = out;
    for (let i = 0; i < parts.length - 1; i++) {
      o[parts[i]] = (o[parts[i]] as Record<string, unknown> | undefined) ?? {};
      o = o[parts[i]] as Record<string, unknown>;
    }
    o[parts[parts.length - 1]] = v;
  }
  return out;
}
