import { useMemo, useState } from "react";

import type { Evaluation } from "../api/types";
import { buildHeatMap, heatColor, scale, searchedParams } from "../lib/heatmap";
import { formatNumber } from "../lib/money";

function label(v: unknown): string {
  return typeof v === "number" ? String(Number(v.toPrecision(6))) : String(v);
}

/** The parameter on one axis ("x" or "y"): any of the searched ones. */
function AxisPicker({ axis, value, params, onChange }: { axis: "x" | "y"; value: string; params: string[]; onChange: (p: string) => void }) {
  return (
    <label>
      {axis}{" "}
      <select value={value} onChange={(e) => onChange(e.target.value)} data-testid={`heatmap-${axis}`} aria-label={`${axis} axis`}>
        {params.map((p) => (
          <option key={p}>{p}</option>
        ))}
      </select>
    </label>
  );
}

/** A grid's score over two of its parameters (pick the axes when more were searched). */
export function HeatMap({ evals, space, best }: { evals: Evaluation[]; space?: Record<string, unknown> | null; best?: Record<string, unknown> | null }) {
  const params = useMemo(() => searchedParams(evals, space), [evals, space]);
  const [x, setX] = useState(params[0] ?? "");
  const [y, setY] = useState(params[1] ?? params[0] ?? "");
  const xp = params.includes(x) ? x : (params[0] ?? "");
  const yp = params.includes(y) ? y : (params[1] ?? params[0] ?? "");
  const map = useMemo(() => buildHeatMap(evals, xp, yp), [evals, xp, yp]);
  if (params.length < 2) {
    return <div className="muted">A heat map needs two searched parameters (this search has {params.length}).</div>;
  }
  const isBest = (p: Record<string, unknown> | null) => !!best && !!p && Object.entries(best).every(([k, v]) => JSON.stringify(p[k]) === JSON.stringify(v));
  return (
    <div data-testid="heatmap">
      <div className="heat-axes">
        <AxisPicker axis="x" value={xp} params={params} onChange={setX} />
        <AxisPicker axis="y" value={yp} params={params} onChange={setY} />
        <span className="muted">
          score {formatNumber(map.min, 3)} … {formatNumber(map.max, 3)}
          {params.length > 2 ? " · each cell: the best over the other parameters" : ""}
        </span>
      </div>
      <div className="table-wrap">
        <table className="heatmap">
          <thead>
            <tr>
              <th>
                {yp} \ {xp}
              </th>
              {map.xs.map((v) => (
                <th key={label(v)}>{label(v)}</th>
              ))}
            </tr>
          </thead>
          <tbody>
            {map.rows.map((row, i) => (
              <tr key={label(map.ys[i])}>
                <th>{label(map.ys[i])}</th>
                {row.map((c) =>
                  c.score === null ? (
                    <td key={label(c.x)} className="empty" title={c.count ? "no valid score" : "not evaluated"}>
                      {c.count ? "×" : ""}
                    </td>
                  ) : (
                    <td
                      key={label(c.x)}
                      className={isBest(c.params) ? "best" : ""}
                      style={{ background: heatColor(scale(c.score, map.min, map.max)) }}
                      title={JSON.stringify(c.params)}
                      data-testid={`heat-${label(c.x)}-${label(c.y)}`}
                    >
                      {formatNumber(c.score, 2)}
                    </td>
                  ),
                )}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}
