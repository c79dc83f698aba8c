export function percentOf(done: number, total: number): number {
  if (!total || total <= 0) return 0;
  return Math.max(0, Math.min(100, Math.round((done / total) * 100)));
}

export function ProgressBar({ done, total, label, testId }: { done: number; total: number; label?: string; testId?: string }) {
  const pct = percentOf(done, total);
  return (
    <div className="progress">
      <div
        className="progress-track"
        data-testid={testId}
        role="progressbar"
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={pct}
        aria-label={label ?? "progress"}
      >
        <div className="progress-fill" style={{ width: `${pct}%` }} />
      </div>
      <span className="progress-text">
        {pct}%{total ? ` · ${done}/${total}` : ""}
      </span>
    </div>
  );
}
