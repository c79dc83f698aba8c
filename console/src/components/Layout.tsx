import { NavLink, Outlet } from "react-router";

import { useInfo } from "../api/hooks";
import { useAuth } from "../auth/AuthContext";
import { hasRole } from "../auth/roles";
import { useLive } from "../sse/LiveContext";
import { ErrorBanner } from "./ErrorBanner";

const NAV = [
  { to: "/", label: "Desk", id: "desk", end: true },
  { to: "/strategies", label: "Strategies", id: "strategies" },
  { to: "/approvals", label: "Approvals", id: "approvals" },
  { to: "/backtests", label: "Backtests", id: "backtests" },
  { to: "/events", label: "Events", id: "events" },
  { to: "/market", label: "Market", id: "market" },
];

export function LiveIndicator() {
  const state = useLive();
  return (
    <span
      className={`live-indicator ${state}`}
      data-testid="live-indicator"
      data-state={state}
      title={state === "live" ? "Live: updates stream from the API" : "Polling every 5 s: the update stream is reconnecting"}
    >
      <span className="dot" aria-hidden="true" />
      {state === "live" ? "live" : "polling"}
    </span>
  );
}

export function Layout() {
  const { user, logout } = useAuth();
  const info = useInfo();
  const admin = hasRole(user, "admin");
  return (
    <div className="app">
      <header className="topbar">
        <div className="brand">
          ASTS <span className="muted">console</span>
        </div>
        <nav className="nav" aria-label="Main">
          {NAV.map((n) => (
            <NavLink key={n.id} to={n.to} end={n.end} data-testid={`nav-${n.id}`} className={({ isActive }) => (isActive ? "active" : "")}>
              {n.label}
            </NavLink>
          ))}
          {admin ? (
            <NavLink to="/users" data-testid="nav-users" className={({ isActive }) => (isActive ? "active" : "")}>
              Users
            </NavLink>
          ) : null}
        </nav>
        <div className="topbar-right">
          <LiveIndicator />
          <div className="user-menu" data-testid="user-menu">
            <span className="user-name">{user?.name ?? "…"}</span>
            <span className="user-roles">{user?.roles.join(", ")}</span>
            <button type="button" className="btn btn-small" data-testid="logout" onClick={() => void logout()}>
              Sign out
            </button>
          </div>
        </div>
      </header>
      <ErrorBanner />
      <main className="content">
        <Outlet />
      </main>
      <footer className="footer">
        <span>ASTS {info.data?.version ?? ""}</span>
        {info.data ? <span>namespace {info.data.namespace}</span> : null}
        <span>
          Charts by{" "}
          <a href="https://www.tradingview.com/lightweight-charts/" target="_blank" rel="noreferrer noopener">
            TradingView Lightweight Charts
          </a>
        </span>
      </footer>
    </div>
  );
}
