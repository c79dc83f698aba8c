import { buildHeatMap, heatColor, scale, searchedParams } from "./heatmap";

const evals = [
  { params: { fast: 5, slow: 20, size: 1 }, score: 1.2 },
  { params: { fast: 10, slow: 20, size: 1 }, score: 0.4 },
  { params: { fast: 5, slow: 30, size: 1 }, score: -0.3 },
  { params: { fast: 5, slow: 20, size: 2 }, score: 1.5 },
  { params: { fast: 10, slow: 30, size: 2 }, score: "-Infinity" },
];

describe("heat map shaping", () => {
  it("sorts axis values and keeps the best score per cell", () => {
    const m = buildHeatMap(evals, "fast", "slow");
    expect(m.xs).toEqual([5, 10]);
    expect(m.ys).toEqual([20, 30]);
    expect(m.rows[0][0].score).toBe(1.5);
    expect(m.rows[0][0].params).toEqual({ fast: 5, slow: 20, size: 2 });
    expect(m.rows[0][0].count).toBe(2);
    expect(m.rows[0][1].score).toBe(0.4);
    expect(m.rows[1][0].score).toBe(-0.3);
    expect(m.rows[1][1].score).toBeNull(); // only an invalid candidate
    expect(m.min).toBe(-0.3);
    expect(m.max).toBe(1.5);
  });

  it("sorts numbers numerically, not as text", () => {
    const m = buildHeatMap(
      [
        { params: { a: 100, b: 1 }, score: 1 },
        { params: { a: 20, b: 1 }, score: 2 },
        { params: { a: 3, b: 1 }, score: 3 },
      ],
      "a",
      "b",
    );
    expect(m.xs).toEqual([3, 20, 100]);
  });

  it("finds the searched parameters", () => {
    expect(searchedParams(evals)).toEqual(["fast", "slow", "size"]);
    expect(searchedParams(evals, { fast: [2, 10], slow: [10, 30] })).toEqual(["fast", "slow"]);
  });

  it("scales scores between the extremes", () => {
    expect(scale(1.5, -0.3, 1.5)).toBe(1);
    expect(scale(-0.3, -0.3, 1.5)).toBe(0);
    expect(scale(2, 2, 2)).toBe(0.5);
    expect(heatColor(0)).toContain("hsl(0");
  });
});
