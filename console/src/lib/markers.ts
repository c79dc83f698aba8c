// Chart markers of a strategy's trading: entries (buys), exits (sells) and stops (orders placed
// to cut a position: a stop, a flatten, a kill switch), from its orders and fills.

import type { Fill, Order } from "../api/types";
import type { ChartMarker } from "../components/Charts";
import { decimalSign } from "./money";
import { chartTime } from "./time";

const STOP = /stop|flatten|kill|breaker|halt/i;

export function orderMarkers(orders: Order[], symbol: string): ChartMarker[] {
  return orders
    .filter((o) => o.symbol === symbol && decimalSign(o.filled_qty) > 0)
    .map((o) => ({
      time: chartTime(o.updated_at),
      kind: STOP.test(o.reason) ? "stop" : o.side === "buy" ? "entry" : "exit",
      text: `${o.side} ${o.filled_qty}`,
    }));
}

export function fillMarkers(fills: Fill[], orders: Order[], symbol: string): ChartMarker[] {
  const reasons = new Map(orders.map((o) => [o.client_order_id, o.reason]));
  return fills
    .filter((f) => f.symbol === symbol)
    .map((f) => ({
      time: chartTime(f.ts),
      kind: STOP.test(reasons.get(f.client_order_id) ?? "") ? "stop" : f.side === "buy" ? "entry" : "exit",
      text: `${f.side} ${f.qty}`,
    }));
}

/** Keep markers within [from, to] (the candles shown). */
export function within(markers: ChartMarker[], from: number, to: number): ChartMarker[] {
  return markers.filter((m) => m.time >= from && m.time <= to);
}

/** Executed prices over time (a line to draw the markers on when no stored candle covers them). */
export function fillPrices(fills: Fill[], orders: Order[], symbol: string): { time: number; value: number }[] {
  if (fills.length) {
    return fills.filter((f) => f.symbol === symbol).map((f) => ({ time: chartTime(f.ts), value: Number(f.price) }));
  }
  return orders
    .filter((o) => o.symbol === symbol && o.avg_price !== null && decimalSign(o.filled_qty) > 0)
    .map((o) => ({ time: chartTime(o.updated_at), value: Number(o.avg_price) }));
}
