import { Navigate, Route, Routes, useLocation } from "react-router";

import { useAuth } from "./auth/AuthContext";
import { Layout } from "./components/Layout";
import { Loading } from "./components/States";
import { Approvals } from "./pages/Approvals";
import { BacktestDetail } from "./pages/BacktestDetail";
import { Backtests } from "./pages/Backtests";
import { Compare } from "./pages/Compare";
import { Desk } from "./pages/Desk";
import { Events } from "./pages/Events";
import { Login } from "./pages/Login";
import { Market } from "./pages/Market";
import { OptimizationDetail } from "./pages/OptimizationDetail";
import { StrategyDetail } from "./pages/StrategyDetail";
import { Strategies } from "./pages/Strategies";
import { Users } from "./pages/Users";
import { LiveProvider } from "./sse/LiveContext";

function RequireAuth() {
  const { signedIn, loading, user } = useAuth();
  const location = useLocation();
  if (!signedIn) return <Navigate to="/login" replace state={{ from: location.pathname + location.search }} />;
  if (loading || !user) return <Loading what="Signing in" />;
  return (
    <LiveProvider enabled>
      <Layout />
    </LiveProvider>
  );
}

export function App() {
  return (
    <Routes>
      <Route path="/login" element={<Login />} />
      <Route element={<RequireAuth />}>
        <Route index element={<Desk />} />
        <Route path="strategies" element={<Strategies />} />
        <Route path="strategies/:id" element={<StrategyDetail />} />
        <Route path="approvals" element={<Approvals />} />
        <Route path="backtests" element={<Backtests />} />
        <Route path="backtests/:id" element={<BacktestDetail />} />
        <Route path="optimizations/:id" element={<OptimizationDetail />} />
        <Route path="compare" element={<Compare />} />
        <Route path="events" element={<Events />} />
        <Route path="market" element={<Market />} />
        <Route path="users" element={<Users />} />
        <Route path="*" element={<NotFound />} />
      </Route>
    </Routes>
  );
}

function NotFound() {
  return <div className="state state-empty">No such page.</div>;
}
