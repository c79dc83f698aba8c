import { useMutation, useQueryClient } from "@tanstack/react-query";
import { createColumnHelper } from "@tanstack/react-table";
import { useMemo, useState } from "react";
import { useParams } from "react-router";

import { api } from "../api/client";
import { ApiError } from "../api/errors";
import { useApiQuery, usePage } from "../api/hooks";
import { keys } from "../api/keys";
import type { Candle, Decision, Fill, Order, Pnl, Position, SeriesStatus, Strategy } from "../api/types";
import { useUser } from "../auth/AuthContext";
import { can } from "../auth/roles";
import { CandleChart, LineChart } from "../components/Charts";
import { DataTable, NUM } from "../components/DataTable";
import { DecisionDetail } from "../components/DecisionDetail";
import { Empty, PageTitle, pageUntilLoaded, QueryError, QueryState, Section } from "../components/States";
import { ParamsDialog, StrategyControls } from "../components/StrategyControls";
import { Money, Price, Qty, Side, Status, Time, WorkflowLink } from "../components/Values";
import { drawdownCurve, strategyEquityCurve } from "../lib/equity";
import { fillMarkers, fillPrices, orderMarkers, within } from "../lib/markers";
import { formatMoney, formatNumber } from "../lib/money";
import { cycleWorkflowId } from "../lib/temporal";
import { chartTime, formatInterval } from "../lib/time";

const orderCol = createColumnHelper<Order>();
const fillCol = createColumnHelper<Fill>();
const posCol = createColumnHelper<Position>();
const decCol = createColumnHelper<Decision>();

const TIMEFRAMES = ["1m", "5m", "15m", "1h", "4h", "1d"];

function Backfill({ exchange, symbol }: { exchange: string; symbol: string }) {
  const qc = useQueryClient();
  const [tf, setTf] = useState("1d");
  const m = useMutation({
    mutationFn: () => api<{ workflow_id: string }>("/data/backfill", { method: "POST", body: { series: [{ exchange, symbol, timeframe: tf }] } }),
    onSuccess: () => {
      // the run takes a moment: look again shortly
      setTimeout(() => void qc.invalidateQueries({ queryKey: ["data"] }), 3000);
      setTimeout(() => void qc.invalidateQueries({ queryKey: ["data"] }), 10000);
    },
  });
  return (
    <span className="inline-controls">
      <select value={tf} onChange={(e) => setTf(e.target.value)} aria-label="timeframe to backfill">
        {TIMEFRAMES.map((t) => (
          <option key={t}>{t}</option>
        ))}
      </select>
      <button type="button" className="btn btn-small" data-testid="backfill" onClick={() => m.mutate()} disabled={m.isPending}>
        Backfill {symbol} from {exchange}
      </button>
      {m.data ? (
        <span className="muted">
          started <WorkflowLink id={m.data.workflow_id} />
        </span>
      ) : null}
    </span>
  );
}

function CandlesPanel({ s, orders, fills }: { s: Strategy; orders: Order[]; fills: Fill[] | null }) {
  const user = useUser();
  const [symbol, setSymbol] = useState(s.symbols[0] ?? "");
  const series = usePage<SeriesStatus>(keys.series({ exchange: s.exchange, symbol }), "/data", {
    query: { exchange: s.exchange, symbol },
    enabled: !!symbol,
    poll: false,
  });
  const available = series.data?.data ?? [];
  const [tf, setTf] = useState<string>("");
  const timeframe = tf || available[0]?.timeframe || "";
  const candles = usePage<Candle>(keys.candles({ strategy_id: s.id, exchange: s.exchange, symbol, timeframe }), "/data/candles", {
    query: { exchange: s.exchange, symbol, timeframe, limit: 500 },
    enabled: !!symbol && !!timeframe,
  });
  const points = useMemo(
    () =>
      (candles.data?.data ?? []).map((c) => ({
        time: chartTime(c.ts),
        open: Number(c.open),
        high: Number(c.high),
        low: Number(c.low),
        close: Number(c.close),
      })),
    [candles.data],
  );
  const allMarkers = useMemo(() => (fills && fills.length ? fillMarkers(fills, orders, symbol) : orderMarkers(orders, symbol)), [fills, orders, symbol]);
  const shown = useMemo(() => (points.length ? within(allMarkers, points[0].time, points[points.length - 1].time + 86_400) : []), [points, allMarkers]);
  const prices = useMemo(() => fillPrices(fills ?? [], orders, symbol), [fills, orders, symbol]);
  // Candles that do not cover the trading at all (a paper venue replays old bars): draw the
  // executed prices instead, with the same markers.
  const uncovered = allMarkers.length > 0 && shown.length === 0;
  return (
    <Section
      title="Candles"
      actions={
        <span className="inline-controls">
          {s.symbols.length > 1 ? (
            <select value={symbol} onChange={(e) => setSymbol(e.target.value)} aria-label="symbol">
              {s.symbols.map((x) => (
                <option key={x}>{x}</option>
              ))}
            </select>
          ) : (
            <span>{symbol}</span>
          )}
          {available.length > 1 ? (
            <select value={timeframe} onChange={(e) => setTf(e.target.value)} aria-label="timeframe">
              {available.map((x) => (
                <option key={x.timeframe}>{x.timeframe}</option>
              ))}
            </select>
          ) : timeframe ? (
            <span className="muted">{timeframe}</span>
          ) : null}
          <span className="legend">
            <span className="lg-entry">▲ entry</span> <span className="lg-exit">▼ exit</span> <span className="lg-stop">■ stop</span>
          </span>
        </span>
      }
    >
      {!symbol ? (
        <Empty>This strategy scans a universe: it has no fixed symbol to chart.</Empty>
      ) : series.isPending ? (
        <div className="muted">Looking for stored candles…</div>
      ) : series.error ? (
        <QueryError error={series.error} />
      ) : candles.error ? (
        <QueryError error={candles.error} />
      ) : available.length && !uncovered ? (
        <CandleChart candles={points} markers={shown} testId="candle-chart" />
      ) : (
        <>
          <div className="muted chart-note">
            {available.length
              ? `The stored ${symbol} candles (${timeframe}) do not cover this strategy's trades (a paper venue replays past bars): executed prices are shown.`
              : `No stored candles for ${symbol} on ${s.exchange}${prices.length ? ": executed prices are shown" : ""}.`}{" "}
            {!available.length && can(user, "data.import") ? <Backfill exchange={s.exchange} symbol={symbol} /> : null}
          </div>
          {prices.length ? (
            <LineChart points={prices} markers={allMarkers} testId="candle-chart" label="executed prices with entries, exits and stops" height={300} precision={4} />
          ) : (
            <Empty>No trade yet.</Empty>
          )}
        </>
      )}
    </Section>
  );
}

export function StrategyDetail() {
  const { id = "" } = useParams();
  const user = useUser();
  const scope = { strategy_id: id };
  const strategy = useApiQuery<Strategy>(keys.strategy(id), `/strategies/${encodeURIComponent(id)}`);
  const orders = usePage<Order>(keys.orders(scope), "/orders", { query: { strategy_id: id, limit: 500 } });
  const fills = usePage<Fill>(keys.fills(scope), "/fills", { query: { strategy_id: id, limit: 500 }, extra: { retry: false } });
  const positions = usePage<Position>(keys.positions(scope), "/positions", { query: { strategy_id: id } });
  const decisions = usePage<Decision>(keys.decisions(scope), "/decisions", { query: { strategy_id: id, limit: 200 } });
  const pnl = usePage<Pnl>(keys.pnl(scope), "/pnl", { query: { strategy_id: id, limit: 5000 } });
  const [openDecision, setOpenDecision] = useState<number | null>(null);
  const [paramsOpen, setParamsOpen] = useState(false);

  const equity = useMemo(() => strategyEquityCurve(pnl.data?.data ?? [], id), [pnl.data, id]);
  const drawdown = useMemo(() => drawdownCurve(equity), [equity]);
  const fillsMissing = fills.error instanceof ApiError && (fills.error.status === 404 || fills.error.status === 405);

  const orderColumns = useMemo(
    () => [
      orderCol.accessor("created_at", { header: "Time", cell: (c) => <Time value={c.getValue()} /> }),
      orderCol.accessor("cycle", {
        header: "Cycle",
        cell: (c) => <WorkflowLink id={cycleWorkflowId(c.row.original.strategy_id, c.getValue())} label={String(c.getValue())} />,
      }),
      orderCol.accessor("symbol", { header: "Symbol" }),
      orderCol.accessor("side", { header: "Side", cell: (c) => <Side value={c.getValue()} /> }),
      orderCol.accessor("type", { header: "Type" }),
      orderCol.accessor("qty", { header: "Qty", cell: (c) => <Qty value={c.getValue()} />, meta: NUM }),
      orderCol.accessor("price", { header: "Limit", cell: (c) => <Price value={c.getValue()} />, meta: NUM }),
      orderCol.accessor("filled_qty", { header: "Filled", cell: (c) => <Qty value={c.getValue()} />, meta: NUM }),
      orderCol.accessor("avg_price", { header: "Avg price", cell: (c) => <Price value={c.getValue()} />, meta: NUM }),
      orderCol.accessor("fee", { header: "Fee", cell: (c) => <Money value={c.getValue()} />, meta: NUM }),
      orderCol.accessor("status", { header: "Status", cell: (c) => <Status value={c.getValue()} /> }),
      orderCol.accessor("reason", { header: "Reason", cell: (c) => <span className="muted clip">{c.getValue()}</span> }),
      orderCol.accessor("client_order_id", {
        header: "Order",
        cell: (c) => <WorkflowLink id={`order-${c.getValue()}`} label={c.getValue()} />,
      }),
    ],
    [],
  );
  const fillColumns = useMemo(
    () => [
      fillCol.accessor("ts", { header: "Time", cell: (c) => <Time value={c.getValue()} /> }),
      fillCol.accessor("symbol", { header: "Symbol" }),
      fillCol.accessor("side", { header: "Side", cell: (c) => <Side value={c.getValue()} /> }),
      fillCol.accessor("qty", { header: "Qty", cell: (c) => <Qty value={c.getValue()} />, meta: NUM }),
      fillCol.accessor("price", { header: "Price", cell: (c) => <Price value={c.getValue()} />, meta: NUM }),
      fillCol.accessor("fee", { header: "Fee", cell: (c) => <Money value={c.getValue()} />, meta: NUM }),
      fillCol.accessor("client_order_id", { header: "Order", cell: (c) => <code>{c.getValue()}</code> }),
      fillCol.accessor("fill_id", { header: "Fill", cell: (c) => <code>{c.getValue()}</code> }),
    ],
    [],
  );
  const posColumns = useMemo(
    () => [
      posCol.accessor("symbol", { header: "Symbol" }),
      posCol.accessor("qty", { header: "Qty", cell: (c) => <Qty value={c.getValue()} />, meta: NUM }),
      posCol.accessor("avg_price", { header: "Avg price", cell: (c) => <Price value={c.getValue()} />, meta: NUM }),
      posCol.accessor("realised_pnl", { header: "Realised", cell: (c) => <Money value={c.getValue()} signed />, meta: NUM }),
      posCol.accessor("fees", { header: "Fees", cell: (c) => <Money value={c.getValue()} />, meta: NUM }),
      posCol.accessor("updated_at", { header: "Updated", cell: (c) => <Time value={c.getValue()} /> }),
    ],
    [],
  );
  const decColumns = useMemo(
    () => [
      decCol.accessor("created_at", { header: "Time", cell: (c) => <Time value={c.getValue()} /> }),
      decCol.accessor("cycle", {
        header: "Cycle",
        cell: (c) => {
          const d = c.row.original;
          return d.strategy_id && d.cycle !== null ? <WorkflowLink id={cycleWorkflowId(d.strategy_id, d.cycle)} label={String(d.cycle)} /> : "—";
        },
      }),
      decCol.accessor("symbol", { header: "Symbol" }),
      decCol.accessor("target", { header: "Target", cell: (c) => <Status value={c.getValue()} /> }),
      decCol.accessor("confidence", { header: "Conf.", cell: (c) => formatNumber(c.getValue(), 2), meta: NUM }),
      decCol.accessor("rationale", { header: "Rationale", cell: (c) => <span className="clip rationale-cell">{c.getValue()}</span>, enableSorting: false }),
      decCol.accessor("mode", { header: "Mode" }),
      decCol.accessor("cost", { header: "LLM cost", cell: (c) => formatMoney(c.getValue(), { maxDp: 6 }), meta: NUM }),
    ],
    [],
  );

  const waiting = pageUntilLoaded(strategy, `Strategy ${id}`);
  if (waiting) return waiting;
  const s = strategy.data!;
  const live = s.live;
  return (
    <div className="page">
      <PageTitle
        actions={
          <span className="row-actions">
            <StrategyControls s={s} />
            {can(user, "strategy.params", { owner: s.created_by }) && s.status !== "stopped" ? (
              <button type="button" className="btn" data-testid={`params-${s.id}`} onClick={() => setParamsOpen(true)}>
                Params
              </button>
            ) : null}
          </span>
        }
      >
        {s.name || s.id} <Status value={s.status} testId={`strategy-status-${s.id}`} />
      </PageTitle>
      <div className="summary">
        <dl className="kv kv-inline">
          <dt>Id</dt>
          <dd>
            <code>{s.id}</code>
          </dd>
          <dt>Type</dt>
          <dd>
            {s.type} <span className="muted">{s.code_version}</span>
          </dd>
          <dt>Venue</dt>
          <dd>{s.exchange}</dd>
          <dt>Symbols</dt>
          <dd>{s.symbols.join(", ") || "universe"}</dd>
          <dt>Every</dt>
          <dd>{formatInterval(s.interval_s)}</dd>
          <dt>Owner</dt>
          <dd>{s.created_by || "—"}</dd>
          <dt>Workflow</dt>
          <dd>
            <WorkflowLink id={s.workflow_id} />
          </dd>
          {live ? (
            <>
              <dt>Cycles</dt>
              <dd className="num">
                {live.cycles_done} done · {live.cycles_failed} failed · next {live.next_cycle}
              </dd>
              <dt>Hub</dt>
              <dd>
                {live.hub_state}
                {live.reduce_only ? " · reduce only" : ""}
              </dd>
              {live.llm ? (
                <>
                  <dt>LLM today</dt>
                  <dd className="num">
                    {live.llm.tokens} tokens · {formatMoney(live.llm.cost, { maxDp: 6 })}
                    {live.llm.exhausted ? " · budget spent" : ""}
                  </dd>
                </>
              ) : null}
            </>
          ) : null}
          {s.status_reason ? (
            <>
              <dt>Reason</dt>
              <dd>{s.status_reason}</dd>
            </>
          ) : null}
        </dl>
        <details>
          <summary>Parameters and risk</summary>
          <pre className="json">{JSON.stringify({ params: s.params, risk: s.risk }, null, 2)}</pre>
        </details>
      </div>
      <CandlesPanel s={s} orders={orders.data?.data ?? []} fills={fillsMissing ? null : (fills.data?.data ?? null)} />
      <div className="grid-2">
        <Section title="Equity">
          <QueryState q={pnl} what="PnL" empty="No PnL snapshot yet.">
            {() => <LineChart points={equity} area testId="equity-chart" label="equity" />}
          </QueryState>
        </Section>
        <Section title="Drawdown">
          <QueryState q={pnl} what="PnL" empty="No PnL snapshot yet.">
            {() => <LineChart points={drawdown} color="#ef5350" percent area testId="drawdown-chart" label="drawdown" />}
          </QueryState>
        </Section>
      </div>
      <Section title="Positions">
        <QueryState q={positions} what="positions" empty="No position.">
          {(d) => <DataTable data={d.data} columns={posColumns} testId="positions-table" rowTestId={(p) => `position-row-${p.symbol}`} dense />}
        </QueryState>
      </Section>
      <Section title="Orders">
        <QueryState q={orders} what="orders" empty="No order yet.">
          {(d) => <DataTable data={d.data} columns={orderColumns} testId="orders-table" rowTestId={(o) => `order-row-${o.client_order_id}`} dense />}
        </QueryState>
      </Section>
      <Section title="Fills">
        {fillsMissing ? (
          <Empty>This API does not list fills (GET /fills); the orders above show filled quantities and average prices.</Empty>
        ) : (
          <QueryState q={fills} what="fills" empty="No fill yet.">
            {(d) => <DataTable data={d.data} columns={fillColumns} testId="fills-table" rowTestId={(f) => `fill-row-${f.fill_id}`} dense />}
          </QueryState>
        )}
      </Section>
      <Section title="Decisions">
        <QueryState q={decisions} what="decisions" empty="No decision yet.">
          {(d) => (
            <DataTable
              data={d.data}
              columns={decColumns}
              testId="decisions-table"
              rowTestId={(x) => `decision-row-${x.id}`}
              onRowClick={(x) => setOpenDecision(openDecision === x.id ? null : x.id)}
              expanded={(x) => (x.id === openDecision ? <DecisionDetail id={x.id} /> : null)}
              dense
            />
          )}
        </QueryState>
      </Section>
      {paramsOpen ? <ParamsDialog s={s} onClose={() => setParamsOpen(false)} /> : null}
    </div>
  );
}
