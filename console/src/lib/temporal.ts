// Links to a workflow in the Temporal Web UI (GET /info names the UI and the namespace).

import type { Info } from "../api/types";

export function workflowUrl(info: Info | null | undefined, workflowId: string | null | undefined): string | null {
  if (!info?.temporal_ui || !workflowId) return null;
  const base = info.temporal_ui.replace(/\/+$/, "");
  return `${base}/namespaces/${encodeURIComponent(info.namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}

/** The workflow a strategy's cycle ran in (workflows.options.cycle_workflow_id). */
export function cycleWorkflowId(strategyId: string, cycle: number): string {
  return `cycle-${strategyId}-${cycle}`;
}

/** The workflow an ad-hoc analysis ran in (workflows.options.analysis_workflow_id). */
export function analysisWorkflowId(analysisId: string): string {
  return `analysis-${analysisId}`;
}

/** The workflow a decision was taken in: its cycle's, or its analysis'. */
export function decisionWorkflowId(d: { strategy_id: string | null; cycle: number | null; analysis_id?: string | null }): string | null {
  if (d.strategy_id && d.cycle !== null && d.cycle !== undefined) return cycleWorkflowId(d.strategy_id, d.cycle);
  if (d.analysis_id) return analysisWorkflowId(d.analysis_id);
  return null;
}
