import { Link } from "react-router";

import { useInfo } from "../api/hooks";
import { formatMoney, formatQty, signClass } from "../lib/money";
import { workflowUrl } from "../lib/temporal";
import { formatTime } from "../lib/time";

/** An amount, rounded to ``dp`` places on its decimal digits (the exact value in the tooltip). */
export function Money({ value, signed, dp = 2, className }: { value: string | number | null | undefined; signed?: boolean; dp?: number; className?: string }) {
  const exact = value === null || value === undefined ? undefined : String(value);
  return (
    <span className={`num ${signed ? signClass(value) : ""} ${className ?? ""}`} title={exact}>
      {formatMoney(value, { signed, dp })}
    </span>
  );
}

/** A price: as many places as it has (2 at least, 8 at most). */
export function Price({ value }: { value: string | number | null | undefined }) {
  return <span className="num">{formatMoney(value)}</span>;
}

export function Qty({ value }: { value: string | number | null | undefined }) {
  return <span className="num">{formatQty(value)}</span>;
}

export function Time({ value }: { value: string | null | undefined }) {
  return (
    <time className="num time" dateTime={value ?? undefined}>
      {formatTime(value)}
    </time>
  );
}

export function Status({ value, testId }: { value: string; testId?: string }) {
  return (
    <span className={`status status-${value.replace(/[^a-z_-]/gi, "")}`} data-testid={testId}>
      {value}
    </span>
  );
}

export function Side({ value }: { value: string }) {
  return <span className={`side side-${value}`}>{value}</span>;
}

/** A link to a workflow in the Temporal Web UI (plain text when the UI is not known). */
export function WorkflowLink({ id, label }: { id: string | null | undefined; label?: string }) {
  const info = useInfo();
  if (!id) return <span className="muted">—</span>;
  const href = workflowUrl(info.data, id);
  if (!href) return <code className="wf">{label ?? id}</code>;
  return (
    <a className="wf" href={href} target="_blank" rel="noreferrer noopener" title={`Open ${id} in the Temporal Web UI`}>
      {label ?? id} ↗
    </a>
  );
}

export function StrategyLink({ id }: { id: string | null | undefined }) {
  if (!id) return <span className="muted">—</span>;
  return <Link to={`/strategies/${encodeURIComponent(id)}`}>{id}</Link>;
}
