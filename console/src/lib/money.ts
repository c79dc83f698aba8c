// Money and quantities arrive as decimal strings ("12345.6789", "-0.5", "1E+5"). They are
// formatted as strings, digit by digit: never through a float, so no value is ever shown
// other than it is (rounding, when asked for, is half away from zero on the decimal digits).

export interface DecimalParts {
  negative: boolean;
  int: string; // digits, no leading zeros (at least "0")
  frac: string; // digits after the point (may be empty)
}

const DECIMAL = /^([+-])?(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;

/** The sign and digits of a decimal string, or null when it is not one (NaN, Infinity, ""). */
export function parseDecimal(value: string): DecimalParts | null {
  const m = DECIMAL.exec(value.trim());
  if (!m) return null;
  let int = m[2] ?? "";
  let frac = m[3] ?? "";
  if (int === "" && frac === "") return null;
  const exp = m[4] ? parseInt(m[4], 10) : 0;
  if (!Number.isFinite(exp) || Math.abs(exp) > 400) return null;
  if (exp > 0) {
    const moved = frac.slice(0, exp).padEnd(exp, "0");
    int = int + moved;
    frac = frac.slice(exp);
  } else if (exp < 0) {
    const n = -exp;
    const padded = int.padStart(n, "0");
    frac = padded.slice(padded.length - n) + frac;
    int = padded.slice(0, padded.length - n);
  }
  int = int.replace(/^0+/, "") || "0";
  const zero = /^0*$/.test(int) && /^0*$/.test(frac);
  return { negative: m[1] === "-" && !zero, int, frac };
}

/** Add one unit to a string of digits ("0999" -> "1000"); returns the result and a carry. */
function increment(digits: string): { digits: string; carry: boolean } {
  const out = digits.split("");
  for (let i = out.length - 1; i >= 0; i--) {
    if (out[i] === "9") {
      out[i] = "0";
    } else {
      out[i] = String.fromCharCode(out[i].charCodeAt(0) + 1);
      return { digits: out.join(""), carry: false };
    }
  }
  return { digits: out.join(""), carry: true };
}

/** Round the parts to ``dp`` places, half away from zero. */
export function roundParts(p: DecimalParts, dp: number): DecimalParts {
  if (p.frac.length <= dp) return { ...p, frac: p.frac.padEnd(dp, "0") };
  const kept = p.frac.slice(0, dp);
  const up = p.frac.charCodeAt(dp) >= "5".charCodeAt(0);
  if (!up) {
    const negative = p.negative && !(/^0*$/.test(p.int) && /^0*$/.test(kept));
    return { negative, int: p.int, frac: kept };
  }
  const joined = increment(p.int + kept);
  let digits = joined.digits;
  if (joined.carry) digits = "1" + digits;
  const int = digits.slice(0, digits.length - dp).replace(/^0+/, "") || "0";
  return { negative: p.negative, int, frac: digits.slice(digits.length - dp) };
}

function group(int: string, sep = ","): string {
  let out = "";
  for (let i = 0; i < int.length; i++) {
    if (i > 0 && (int.length - i) % 3 === 0) out += sep;
    out += int[i];
  }
  return out;
}

export interface MoneyFormat {
  /** Exact decimal places (rounded half away from zero); undefined: as given (trailing zeros trimmed to ``minDp``). */
  dp?: number;
  /** With ``dp`` undefined: at least this many places (default 2 for money, 0 for quantities). */
  minDp?: number;
  /** With ``dp`` undefined: at most this many places (rounded). */
  maxDp?: number;
  /** "+" before positive values (PnL). */
  signed?: boolean;
  /** Thousands separator (default ","). */
  grouping?: boolean;
  /** Shown for null, undefined and anything that is not a decimal. */
  missing?: string;
}

/** Format a decimal string for display, e.g. formatMoney("-1234.5") === "-1,234.50". */
export function formatDecimal(value: string | number | null | undefined, opts: MoneyFormat = {}): string {
  const missing = opts.missing ?? "—";
  if (value === null || value === undefined) return missing;
  // Numbers are accepted for counts and floats the API sends as numbers; String() is exact for them.
  const parsed = parseDecimal(typeof value === "number" ? numberText(value) : value);
  if (!parsed) return missing;
  let p = parsed;
  if (opts.dp !== undefined) {
    p = roundParts(p, opts.dp);
  } else {
    if (opts.maxDp !== undefined && p.frac.length > opts.maxDp) p = roundParts(p, opts.maxDp);
    const min = opts.minDp ?? 0;
    let frac = p.frac.replace(/0+$/, "");
    if (frac.length < min) frac = frac.padEnd(min, "0");
    p = { ...p, frac };
  }
  const int = opts.grouping === false ? p.int : group(p.int);
  const sign = p.negative ? "-" : opts.signed && !isZero(p) ? "+" : "";
  return `${sign}${int}${p.frac ? "." + p.frac : ""}`;
}

function numberText(n: number): string {
  if (!Number.isFinite(n)) return "";
  return String(n);
}

function isZero(p: DecimalParts): boolean {
  return /^0*$/.test(p.int) && /^0*$/.test(p.frac);
}

/** Money: two places at least, as many as given beyond (up to 8), grouped. */
export function formatMoney(value: string | number | null | undefined, opts: MoneyFormat = {}): string {
  return formatDecimal(value, { minDp: 2, maxDp: 8, ...opts });
}

/** Quantities: as given (trailing zeros trimmed), grouped. */
export function formatQty(value: string | number | null | undefined, opts: MoneyFormat = {}): string {
  return formatDecimal(value, { minDp: 0, maxDp: 12, ...opts });
}

/** The sign of a decimal string: -1, 0 or 1 (0 for anything not a decimal). */
export function decimalSign(value: string | number | null | undefined): -1 | 0 | 1 {
  if (value === null || value === undefined) return 0;
  const p = parseDecimal(typeof value === "number" ? numberText(value) : value);
  if (!p || isZero(p)) return 0;
  return p.negative ? -1 : 1;
}

/** A CSS class for a signed amount (gains green, losses red). */
export function signClass(value: string | number | null | undefined): string {
  const s = decimalSign(value);
  return s > 0 ? "pos" : s < 0 ? "neg" : "";
}

/** A fraction (0.123) as a percentage string ("12.30%"); floats are fine here (ratios, not money). */
export function formatPercent(value: number | string | null | undefined, dp = 2): string {
  if (value === null || value === undefined || value === "") return "—";
  const n = typeof value === "number" ? value : Number(value);
  if (!Number.isFinite(n)) return "—";
  return `${(n * 100).toFixed(dp)}%`;
}

/** A plain float (metrics, scores) with ``dp`` places, or "—". */
export function formatNumber(value: number | string | null | undefined, dp = 2): string {
  if (value === null || value === undefined || value === "") return "—";
  const n = typeof value === "number" ? value : Number(value);
  if (!Number.isFinite(n)) return typeof value === "string" ? value : "—";
  return n.toLocaleString("en-US", { minimumFractionDigits: dp, maximumFractionDigits: dp });
}

/** Sum decimal strings exactly (for totals shown as money). */
export function addDecimals(values: (string | null | undefined)[]): string {
  let scale = 0;
  const parts: DecimalParts[] = [];
  for (const v of values) {
    if (v === null || v === undefined) continue;
    const p = parseDecimal(v);
    if (!p) continue;
    parts.push(p);
    scale = Math.max(scale, p.frac.length);
  }
  let total = 0n;
  for (const p of parts) {
    const n = BigInt(p.int + p.frac.padEnd(scale, "0"));
    total += p.negative ? -n : n;
  }
  const negative = total < 0n;
  const digits = (negative ? -total : total).toString().padStart(scale + 1, "0");
  const int = digits.slice(0, digits.length - scale);
  const frac = digits.slice(digits.length - scale);
  return `${negative ? "-" : ""}${int}${scale ? "." + frac : ""}`;
}

/** The negation of a decimal string ("1.5" -> "-1.5"). */
export function negateDecimal(value: string): string {
  const v = value.trim();
  if (v.startsWith("-")) return v.slice(1);
  if (v.startsWith("+")) return `-${v.slice(1)}`;
  return `-${v}`;
}

/** a - b, exactly. */
export function subtractDecimals(a: string | null | undefined, b: string | null | undefined): string | null {
  if (a === null || a === undefined || b === null || b === undefined) return null;
  if (!parseDecimal(a) || !parseDecimal(b)) return null;
  return addDecimals([a, negateDecimal(b)]);
}
