import { type FormEvent, useState } from "react";
import { Navigate, useLocation, useNavigate } from "react-router";

import { ApiError, errorMessage } from "../api/errors";
import { useAuth } from "../auth/AuthContext";

export function Login() {
  const { login, signedIn, user } = useAuth();
  const navigate = useNavigate();
  const location = useLocation();
  const state = (location.state ?? {}) as { from?: string; expired?: boolean };
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  if (signedIn && user) return <Navigate to={state.from && state.from !== "/login" ? state.from : "/"} replace />;

  async function submit(e: FormEvent) {
    e.preventDefault();
    setError(null);
    setBusy(true);
    try {
      await login(username.trim(), password);
      navigate(state.from && state.from !== "/login" ? state.from : "/", { replace: true });
    } catch (err) {
      if (err instanceof ApiError && err.status === 429) setError(`Too many attempts: ${err.detail}`);
      else if (err instanceof ApiError && err.status === 401) setError(err.detail || "Wrong user name or password.");
      else setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className="login-page">
      <form className="login-box" onSubmit={submit} aria-labelledby="login-title">
        <h1 id="login-title" data-testid="page-title">
          ASTS <span className="muted">console</span>
        </h1>
        {state.expired && !error ? <div className="notice">Your session has ended: sign in again.</div> : null}
        <div className="field">
          <label htmlFor="login-username">User name</label>
          <input
            id="login-username"
            data-testid="login-username"
            autoComplete="username"
            autoFocus
            value={username}
            onChange={(e) => setUsername(e.target.value)}
            required
          />
        </div>
        <div className="field">
          <label htmlFor="login-password">Password</label>
          <input
            id="login-password"
            data-testid="login-password"
            type="password"
            autoComplete="current-password"
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            required
          />
        </div>
        {error ? (
          <div className="error-banner" role="alert" data-testid="error-banner">
            {error}
          </div>
        ) : null}
        <button type="submit" className="btn btn-primary btn-block" data-testid="login-submit" disabled={busy || !username || !password}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
      </form>
    </div>
  );
}
