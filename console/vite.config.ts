/// <reference types="vitest/config" />
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// Paths the API answers; `npm run dev` proxies them to a locally running API.
const API_PATHS = [
  "/auth",
  "/info",
  "/stream",
  "/strategies",
  "/strategy-types",
  "/orders",
  "/fills",
  "/positions",
  "/decisions",
  "/pnl",
  "/events",
  "/markets",
  "/halt",
  "/resume",
  "/neurohub",
  "/approvals",
  "/news",
  "/backtests",
  "/optimizations",
  "/data",
  "/reconcile",
  "/scan",
];
const target = process.env.ASTS_API_URL ?? "http://127.0.0.1:8000";

export default defineConfig({
  base: "/console/",
  plugins: [react()],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    // The page's CSP allows scripts from 'self' only: no inline polyfill.
    modulePreload: { polyfill: false },
    chunkSizeWarningLimit: 700,
    rolldownOptions: {
      output: {
        codeSplitting: {
          groups: [
            { name: "charts", test: /node_modules[\\/](lightweight-charts|fancy-canvas)/ },
            { name: "react", test: /node_modules[\\/](react|react-dom|react-router|scheduler)[\\/]/ },
          ],
        },
      },
    },
  },
  server: {
    proxy: Object.fromEntries(API_PATHS.map((p) => [p, { target, changeOrigin: false }])),
  },
  test: {
    environment: "jsdom",
    globals: true,
    setupFiles: ["./src/test/setup.ts"],
    include: ["src/**/*.test.{ts,tsx}"],
    css: false,
  },
});
