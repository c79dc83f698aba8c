// The API's error answers: {"detail": "...", "errors": ["field.path: msg", ...]} for a refused
// request (422), {"detail": "...", "type": "..."} for a domain error, {"detail": "..."} otherwise.

export interface ErrorBody {
  detail?: unknown;
  errors?: unknown;
  type?: unknown;
  line?: unknown;
}

export class ApiError extends Error {
  readonly status: number;
  readonly detail: string;
  readonly errors: string[];
  readonly type: string;
  readonly body: unknown;

  constructor(status: number, body: unknown, fallback = "") {
    const b = (body && typeof body === "object" ? body : {}) as ErrorBody;
    const detail = detailText(b.detail) || fallback || `HTTP ${status}`;
    super(detail);
    this.name = "ApiError";
    this.status = status;
    this.detail = detail;
    this.errors = Array.isArray(b.errors) ? b.errors.map(String) : [];
    this.type = typeof b.type === "string" ? b.type : "";
    this.body = body;
  }
}

function detailText(d: unknown): string {
  if (typeof d === "string") return d;
  if (Array.isArray(d)) {
    // FastAPI's own shape, in case a route answers it: [{loc, msg}, ...]
    return d
      .map((e) => {
        if (e && typeof e === "object" && "msg" in e) {
          const loc = Array.isArray((e as { loc?: unknown }).loc)
            ? ((e as { loc: unknown[] }).loc.filter((p) => p !== "body").join("."))
            : "";
          return loc ? `${loc}: ${String((e as { msg: unknown }).msg)}` : String((e as { msg: unknown }).msg);
        }
        return String(e);
      })
      .join("; ");
  }
  return d === undefined || d === null ? "" : String(d);
}

/** A message for anything thrown. */
export function errorMessage(e: unknown): string {
  if (e instanceof ApiError) return e.detail;
  if (e instanceof Error) return e.message;
  return String(e);
}

export interface FieldErrors {
  /** Message per form field key. */
  fields: Record<string, string>;
  /** Reasons no field matched (shown above the form). */
  unmatched: string[];
}

export interface FieldMapOptions {
  /** Keys of the form's fields (the common ones: "name", "symbols", "sizing.fraction", ...). */
  fields: readonly string[];
  /** Keys of the form's parameter fields: a path "params.<name>..." maps to "<name>". */
  params?: readonly string[];
  /** Path prefix of the parameters (default "params"; a backtest's may be "fixed"). */
  paramsPrefix?: string;
}

// "invalid sma_cross parameters: fast: must be ...; slow: must be ..." (asts.strategy.describe_errors)
const PARAMS_DETAIL = /^invalid [\w.-]+ parameters: (.*)$/s;

/** Split one reason "a.b.0: message" into its path and message (null path when it names none). */
export function splitReason(reason: string): { path: string | null; message: string } {
  const m = /^([A-Za-z_][\w]*(?:\.[\w-]+)*): (.*)$/s.exec(reason.trim());
  if (!m) return { path: null, message: reason.trim() };
  return { path: m[1], message: m[2] };
}

/** The reasons of an error answer, one per field where the API gave them. */
export function reasonsOf(e: ApiError, paramsPrefix = "params"): string[] {
  if (e.errors.length) return e.errors;
  const m = PARAMS_DETAIL.exec(e.detail);
  if (m) {
    return m[1].split("; ").map((r) => {
      const { path, message } = splitReason(r);
      return path ? `${paramsPrefix}.${path}: ${message}` : r;
    });
  }
  return e.detail ? [e.detail] : [];
}

/** Map an error answer's reasons to form fields where their paths name one. */
export function mapFieldErrors(e: unknown, opts: FieldMapOptions): FieldErrors {
  const out: FieldErrors = { fields: {}, unmatched: [] };
  if (!(e instanceof ApiError)) {
    out.unmatched.push(errorMessage(e));
    return out;
  }
  const prefix = opts.paramsPrefix ?? "params";
  const fields = new Set(opts.fields);
  const params = new Set(opts.params ?? []);
  for (const reason of reasonsOf(e, prefix)) {
    const { path, message } = splitReason(reason);
    const key = path ? fieldFor(path, fields, params, prefix) : null;
    if (key === null) {
      out.unmatched.push(reason);
    } else if (out.fields[key]) {
      out.fields[key] += `; ${message}`;
    } else {
      out.fields[key] = message;
    }
  }
  return out;
}

/** The reasons shown above a form: those no field took, or the error itself when none was given. */
export function formErrors(e: unknown, mapped: FieldErrors): string[] {
  if (mapped.unmatched.length || Object.keys(mapped.fields).length) return mapped.unmatched;
  return [e instanceof ApiError ? e.detail : String(e)];
}

function fieldFor(path: string, fields: Set<string>, params: Set<string>, prefix: string): string | null {
  const parts = path.split(".");
  if (parts[0] === prefix && parts.length > 1 && params.has(parts[1])) return parts[1];
  for (let n = parts.length; n > 0; n--) {
    const candidate = parts.slice(0, n).join(".");
    if (fields.has(candidate)) return candidate;
  }
  // A tagged union names its tag in the path ("sizing.equity_fraction.fraction"): without it.
  for (let i = 1; i < parts.length - 1; i++) {
    const candidate = [...parts.slice(0, i), ...parts.slice(i + 1)].join(".");
    if (fields.has(candidate)) return candidate;
  }
  return null;
}
