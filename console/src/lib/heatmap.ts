// A grid search's results as a heat map: two parameters on the axes, the score as colour. When
// more parameters were searched, each cell shows the best score over the others.

import type { Evaluation } from "../api/types";

export interface HeatCell {
  x: unknown;
  y: unknown;
  /** The best finite score in the cell, null when none (unscored or invalid candidates only). */
  score: number | null;
  /** The parameters of that best score. */
  params: Record<string, unknown> | null;
  count: number;
}

export interface HeatMap {
  xParam: string;
  yParam: string;
  xs: unknown[];
  ys: unknown[];
  /** rows[yIndex][xIndex] */
  rows: HeatCell[][];
  min: number | null;
  max: number | null;
}

export function scoreOf(e: Evaluation): number | null {
  const s = typeof e.score === "string" ? Number(e.score) : e.score;
  return typeof s === "number" && Number.isFinite(s) ? s : null;
}

/** The parameters that vary across the evaluations (candidates for the axes), numeric first. */
export function searchedParams(evals: Evaluation[], space?: Record<string, unknown> | null): string[] {
  if (space && Object.keys(space).length) return Object.keys(space);
  const seen = new Map<string, Set<string>>();
  for (const e of evals) {
    for (const [k, v] of Object.entries(e.params ?? {})) {
      if (!seen.has(k)) seen.set(k, new Set());
      seen.get(k)!.add(JSON.stringify(v));
    }
  }
  return [...seen.entries()].filter(([, vals]) => vals.size > 1).map(([k]) => k);
}

function compare(a: unknown, b: unknown): number {
  if (typeof a === "number" && typeof b === "number") return a - b;
  return String(a).localeCompare(String(b), "en", { numeric: true });
}

function keyOf(v: unknown): string {
  return JSON.stringify(v);
}

/** Shape evaluations into a grid over ``xParam`` × ``yParam``. */
export function buildHeatMap(evals: Evaluation[], xParam: string, yParam: string): HeatMap {
  const xsMap = new Map<string, unknown>();
  const ysMap = new Map<string, unknown>();
  for (const e of evals) {
    const p = e.params ?? {};
    if (!(xParam in p) || !(yParam in p)) continue;
    xsMap.set(keyOf(p[xParam]), p[xParam]);
    ysMap.set(keyOf(p[yParam]), p[yParam]);
  }
  const xs = [...xsMap.values()].sort(compare);
  const ys = [...ysMap.values()].sort(compare);
  const xi = new Map(xs.map((v, i) => [keyOf(v), i]));
  const yi = new Map(ys.map((v, i) => [keyOf(v), i]));
  const rows: HeatCell[][] = ys.map((y) => xs.map((x) => ({ x, y, score: null, params: null, count: 0 })));
  let min: number | null = null;
  let max: number | null = null;
  for (const e of evals) {
    const p = e.params ?? {};
    if (!(xParam in p) || !(yParam in p)) continue;
    const cell = rows[yi.get(keyOf(p[yParam]))!][xi.get(keyOf(p[xParam]))!];
    cell.count++;
    const s = scoreOf(e);
    if (s === null) continue;
    if (cell.score === null || s > cell.score) {
      cell.score = s;
      cell.params = p;
    }
  }
  for (const row of rows) {
    for (const c of row) {
      if (c.score === null) continue;
      min = min === null ? c.score : Math.min(min, c.score);
      max = max === null ? c.score : Math.max(max, c.score);
    }
  }
  return { xParam, yParam, xs, ys, rows, min, max };
}

/** 0..1 position of a score between the map's min and max (0.5 when they are equal). */
export function scale(score: number, min: number | null, max: number | null): number {
  if (min === null || max === null || max === min) return 0.5;
  return Math.min(1, Math.max(0, (score - min) / (max - min)));
}

/** A colour from red (low) through amber to green (high). */
export function heatColor(t: number): string {
  const hue = Math.round(t * 130); // 0 red .. 130 green
  const light = 28 + Math.round(t * 10);
  return `hsl(${hue} 65% ${light}%)`;
}
