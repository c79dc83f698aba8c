import type { ReactElement, ReactNode } from "react";

import { errorMessage } from "../api/errors";

export function PageTitle({ children, actions }: { children: ReactNode; actions?: ReactNode }) {
  return (
    <div className="page-head">
      <h1 data-testid="page-title">{children}</h1>
      {actions ? <div className="page-actions">{actions}</div> : null}
    </div>
  );
}

export function Loading({ what = "Loading" }: { what?: string }) {
  return (
    <div className="state state-loading" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" /> {what}…
    </div>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <div className="state state-empty">{children}</div>;
}

export function QueryError({ error, retry }: { error: unknown; retry?: () => void }) {
  return (
    <div className="state state-error" role="alert" data-testid="query-error">
      <span>Could not load: {errorMessage(error)}</span>
      {retry ? (
        <button type="button" className="btn btn-small" onClick={retry}>
          Retry
        </button>
      ) : null}
    </div>
  );
}

interface QueryLike<T> {
  data: T | undefined;
  error: unknown;
  isPending: boolean;
  refetch: () => unknown;
}

/** A page about one record until the record is in: "Loading…", or the error under the page's title (null once it is in). */
export function pageUntilLoaded(q: QueryLike<unknown>, title: ReactNode): ReactElement | null {
  if (q.isPending) return <div className="page">Loading…</div>;
  if (q.error && !q.data) {
    return (
      <div className="page">
        <PageTitle>{title}</PageTitle>
        <QueryError error={q.error} retry={() => void q.refetch()} />
      </div>
    );
  }
  return null;
}

/** Loading, error and empty states around a query's data. */
export function QueryState<T>({
  q,
  empty,
  isEmpty,
  what,
  children,
}: {
  q: QueryLike<T>;
  empty?: ReactNode;
  isEmpty?: (d: T) => boolean;
  what?: string;
  children: (d: T) => ReactNode;
}) {
  if (q.isPending) return <Loading what={what ? `Loading ${what}` : "Loading"} />;
  if (q.error && q.data === undefined) return <QueryError error={q.error} retry={() => void q.refetch()} />;
  if (q.data === undefined) return <Loading />;
  const d = q.data;
  const emptyNow = isEmpty ? isEmpty(d) : Array.isArray((d as { data?: unknown[] }).data) && (d as { data: unknown[] }).data.length === 0;
  if (emptyNow && empty !== undefined) return <Empty>{empty}</Empty>;
  return <>{children(d)}</>;
}

export function Section({ title, actions, children, className }: { title: ReactNode; actions?: ReactNode; children: ReactNode; className?: string }) {
  return (
    <section className={`panel ${className ?? ""}`}>
      <header className="panel-head">
        <h2>{title}</h2>
        {actions ? <div className="panel-actions">{actions}</div> : null}
      </header>
      <div className="panel-body">{children}</div>
    </section>
  );
}
