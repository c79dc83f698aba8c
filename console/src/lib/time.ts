// Times: the API sends ISO 8601 in UTC; the console shows UTC (a trading desk's one clock).

export function parseTime(iso: string | null | undefined): number | null {
  if (!iso) return null;
  const t = Date.parse(iso);
  return Number.isNaN(t) ? null : t;
}

/** "2024-05-01 12:34:56Z" */
export function formatTime(iso: string | null | undefined): string {
  const t = parseTime(iso);
  if (t === null) return "—";
  return new Date(t).toISOString().replace("T", " ").slice(0, 19) + "Z";
}

export function formatDate(iso: string | null | undefined): string {
  const t = parseTime(iso);
  if (t === null) return "—";
  return new Date(t).toISOString().slice(0, 10);
}

/** A duration in ms as "1h 02m", "4m 05s", "12s". */
export function formatDuration(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  if (h > 0) return `${h}h ${String(m).padStart(2, "0")}m`;
  if (m > 0) return `${m}m ${String(s).padStart(2, "0")}s`;
  return `${s}s`;
}

export interface TimeLeft {
  ms: number;
  expired: boolean;
  text: string;
  /** Under a minute left: show it as urgent. */
  urgent: boolean;
}

/** Time left until ``expiresAt`` (ISO) at ``now`` (ms). */
export function timeLeft(expiresAt: string, now: number): TimeLeft {
  const end = parseTime(expiresAt);
  if (end === null) return { ms: 0, expired: true, text: "—", urgent: false };
  const ms = end - now;
  if (ms <= 0) return { ms: 0, expired: true, text: "expired", urgent: false };
  return { ms, expired: false, text: formatDuration(ms), urgent: ms < 60_000 };
}

/** Seconds as the API's interval ("10s", "5m", "1h"). */
export function formatInterval(seconds: number): string {
  if (seconds >= 3600 && seconds % 3600 === 0) return `${seconds / 3600}h`;
  if (seconds >= 60 && seconds % 60 === 0) return `${seconds / 60}m`;
  if (seconds < 1) return `${Math.round(seconds * 1000)}ms`;
  return `${seconds}s`;
}

/** "2024-05-01T12:34" (a datetime-local input's value, in UTC) -> ISO with Z, or undefined. */
export function localInputToIso(value: string): string | undefined {
  if (!value) return undefined;
  const withSeconds = value.length === 16 ? `${value}:00` : value;
  const t = Date.parse(`${withSeconds}Z`);
  return Number.isNaN(t) ? undefined : new Date(t).toISOString();
}

/** An ISO time as a datetime-local input's value (UTC). */
export function isoToLocalInput(iso: string | number): string {
  const t = typeof iso === "number" ? iso : Date.parse(iso);
  return new Date(t).toISOString().slice(0, 16);
}

/** Epoch seconds for charts (lightweight-charts' UTCTimestamp). */
export function chartTime(iso: string): number {
  return Math.floor(Date.parse(iso) / 1000);
}
