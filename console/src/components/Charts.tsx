import {
  AreaSeries,
  CandlestickSeries,
  ColorType,
  createChart,
  createSeriesMarkers,
  type IChartApi,
  LineSeries,
  type SeriesMarker,
  type Time,
  type UTCTimestamp,
} from "lightweight-charts";
import { useEffect, useRef, useState } from "react";

// Charts by TradingView Lightweight Charts (Apache-2.0, https://www.tradingview.com/lightweight-charts/).
// The attribution logo is off: it injects an inline <style>, which the console's CSP refuses;
// the attribution is in the page footer instead.

export interface Point {
  time: number; // epoch seconds
  value: number;
}

export interface CandlePoint {
  time: number;
  open: number;
  high: number;
  low: number;
  close: number;
}

export interface ChartMarker {
  time: number;
  kind: "entry" | "exit" | "stop";
  text?: string;
}

const THEME = {
  background: "#0f1319",
  text: "#8b96a8",
  grid: "#1b222c",
  up: "#26a69a",
  down: "#ef5350",
  line: "#4f9cf9",
  stop: "#f5a623",
};

function baseOptions() {
  return {
    autoSize: true,
    layout: {
      background: { type: ColorType.Solid, color: THEME.background },
      textColor: THEME.text,
      fontSize: 11,
      attributionLogo: false,
    },
    grid: { vertLines: { color: THEME.grid }, horzLines: { color: THEME.grid } },
    timeScale: { timeVisible: true, secondsVisible: false, borderColor: THEME.grid },
    rightPriceScale: { borderColor: THEME.grid },
    crosshair: { mode: 0 },
  } as const;
}

/** Strictly ascending, one point per time (the chart refuses anything else). */
export function uniqueByTime<T extends { time: number }>(points: T[]): T[] {
  const sorted = [...points].filter((p) => Number.isFinite(p.time)).sort((a, b) => a.time - b.time);
  const out: T[] = [];
  for (const p of sorted) {
    if (out.length && out[out.length - 1].time === p.time) out[out.length - 1] = p;
    else out.push(p);
  }
  return out;
}

function useChart(build: (chart: IChartApi) => void, deps: unknown[]) {
  const ref = useRef<HTMLDivElement>(null);
  const [failed, setFailed] = useState(false);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    let chart: IChartApi | null = null;
    try {
      chart = createChart(el, baseOptions());
      build(chart);
      chart.timeScale().fitContent();
    } catch {
      setFailed(true); // no canvas (a test DOM) or bad data: the numbers are in the tables
    }
    return () => {
      try {
        chart?.remove();
      } catch {
        // already gone
      }
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, deps);
  return { ref, failed };
}

function toSeriesMarkers(markers: ChartMarker[]): SeriesMarker<Time>[] {
  return [...markers]
    .sort((a, b) => a.time - b.time)
    .map((m) => ({
      time: m.time as UTCTimestamp,
      position: m.kind === "entry" ? "belowBar" : "aboveBar",
      shape: m.kind === "entry" ? "arrowUp" : m.kind === "exit" ? "arrowDown" : "square",
      color: m.kind === "entry" ? THEME.up : m.kind === "exit" ? THEME.down : THEME.stop,
      text: m.text,
    }));
}

export function LineChart({
  points,
  testId,
  area,
  color = THEME.line,
  percent,
  height = 220,
  label,
  markers,
  precision = 2,
}: {
  points: Point[];
  testId?: string;
  area?: boolean;
  color?: string;
  percent?: boolean;
  height?: number;
  label?: string;
  markers?: ChartMarker[];
  precision?: number;
}) {
  const { ref, failed } = useChart(
    (chart) => {
      const data = uniqueByTime(points).map((p) => ({ time: p.time as UTCTimestamp, value: p.value }));
      const priceFormat = percent
        ? { type: "custom" as const, formatter: (v: number) => `${(v * 100).toFixed(2)}%`, minMove: 0.0001 }
        : { type: "price" as const, precision, minMove: 10 ** -precision };
      const series = area
        ? chart.addSeries(AreaSeries, {
            lineColor: color,
            topColor: `${color}55`,
            bottomColor: `${color}05`,
            lineWidth: 2,
            priceFormat,
          })
        : chart.addSeries(LineSeries, { color, lineWidth: 2, priceFormat });
      series.setData(data);
      if (markers?.length) createSeriesMarkers(series, toSeriesMarkers(markers));
    },
    [points, area, color, percent, markers, precision],
  );
  return (
    <div className="chart" data-testid={testId} aria-label={label} role="img" style={{ height }}>
      <div ref={ref} className="chart-canvas" />
      {points.length === 0 ? <div className="chart-empty">No data yet.</div> : null}
      {failed ? <div className="chart-empty">Chart unavailable.</div> : null}
    </div>
  );
}

export function CandleChart({ candles, markers, testId, height = 320 }: { candles: CandlePoint[]; markers: ChartMarker[]; testId?: string; height?: number }) {
  const { ref, failed } = useChart(
    (chart) => {
      const series = chart.addSeries(CandlestickSeries, {
        upColor: THEME.up,
        downColor: THEME.down,
        wickUpColor: THEME.up,
        wickDownColor: THEME.down,
        borderVisible: false,
      });
      series.setData(uniqueByTime(candles).map((c) => ({ ...c, time: c.time as UTCTimestamp })));
      createSeriesMarkers(series, toSeriesMarkers(markers));
    },
    [candles, markers],
  );
  return (
    <div className="chart" data-testid={testId} role="img" aria-label="candles with entries, exits and stops" style={{ height }}>
      <div ref={ref} className="chart-canvas" />
      {candles.length === 0 ? <div className="chart-empty">No stored candles for this series.</div> : null}
      {failed ? <div className="chart-empty">Chart unavailable.</div> : null}
    </div>
  );
}
