import { useApiQuery } from "../api/hooks";
import { keys } from "../api/keys";
import type { DecisionDetail as Detail } from "../api/types";
import { formatMoney, formatNumber } from "../lib/money";
import { decisionWorkflowId } from "../lib/temporal";
import { QueryState } from "./States";
import { Status, Time, WorkflowLink } from "./Values";

function Json({ value }: { value: unknown }) {
  return <pre className="json">{JSON.stringify(value, null, 2)}</pre>;
}

function Report({ title, value }: { title: string; value: unknown }) {
  return (
    <div className="report">
      <h4>{title}</h4>
      <Json value={value} />
    </div>
  );
}

function asRecord(v: unknown): Record<string, unknown> {
  return v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

function asList(v: unknown): Record<string, unknown>[] {
  return Array.isArray(v) ? v.map(asRecord) : [];
}

/** A decision in full: rationale, confidence, what each analyst reported, the LLM's calls and cost. */
export function DecisionDetail({ id }: { id: number }) {
  const q = useApiQuery<Detail>(keys.decision(id), `/decisions/${id}`, { poll: false, staleTime: 60_000 });
  return (
    <QueryState q={q} what="the decision">
      {(d) => {
        const inputs = asRecord(d.inputs);
        const output = asRecord(d.output);
        const technical = asRecord(inputs.technical);
        const news = asRecord(inputs.news);
        const analysts = asList(inputs.analysts);
        const debate = asList(output.debate);
        const calls = asList(output.calls);
        return (
          <div className="decision-detail" data-testid={`decision-detail-${d.id}`}>
            <div className="dd-head">
              <Status value={d.target} /> {d.symbol} · confidence {formatNumber(d.confidence, 2)} · {d.mode}
              {d.as_of ? (
                <>
                  {" "}
                  · as of <Time value={d.as_of} />
                </>
              ) : null}{" "}
              · <WorkflowLink id={decisionWorkflowId(d)} label={d.cycle !== null ? `cycle ${d.cycle}` : "workflow"} />
            </div>
            <p className="rationale">{d.rationale}</p>
            {d.error ? <div className="warn">LLM error: {d.error}</div> : null}
            <dl className="kv kv-inline">
              <dt>Model</dt>
              <dd>{d.model || "none (deterministic analysts)"}</dd>
              <dt>Tokens</dt>
              <dd className="num">
                {d.tokens_in} in / {d.tokens_out} out
              </dd>
              <dt>LLM cost</dt>
              <dd className="num" data-testid={`decision-cost-${d.id}`}>
                {formatMoney(d.cost, { maxDp: 6 })}
              </dd>
              <dt>Latency</dt>
              <dd className="num">{formatNumber(d.latency_ms, 0)} ms</dd>
              <dt>Code</dt>
              <dd>
                <code>{d.code_version || "—"}</code>
              </dd>
              <dt>Prompt hash</dt>
              <dd>
                <code>{d.prompt_hash || "—"}</code>
              </dd>
            </dl>
            <div className="reports">
              {Object.keys(technical).length ? <Report title="Technical analyst" value={technical} /> : null}
              {Object.keys(news).length ? <Report title="News analyst" value={news} /> : null}
              {analysts.map((a, i) => (
                <Report key={i} title={String(a.name ?? `analyst ${i + 1}`)} value={a} />
              ))}
              {debate.length ? <Report title="Debate" value={debate} /> : null}
            </div>
            {calls.length ? (
              <table className="table dense">
                <thead>
                  <tr>
                    <th>LLM call</th>
                    <th className="num">Tokens in</th>
                    <th className="num">Tokens out</th>
                    <th className="num">Cost</th>
                    <th className="num">Latency</th>
                    <th>Result</th>
                  </tr>
                </thead>
                <tbody>
                  {calls.map((c, i) => (
                    <tr key={i}>
                      <td>{String(c.purpose ?? "")}</td>
                      <td className="num">{String(c.tokens_in ?? "")}</td>
                      <td className="num">{String(c.tokens_out ?? "")}</td>
                      <td className="num">{formatMoney(c.cost as string, { maxDp: 6 })}</td>
                      <td className="num">{formatNumber(c.latency_ms as number, 0)} ms</td>
                      <td>{c.ok ? "ok" : String(c.error ?? "failed")}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            ) : null}
            <details>
              <summary>Signal, inputs and output</summary>
              <Json value={{ signal: d.signal, inputs: d.inputs, output: d.output }} />
            </details>
          </div>
        );
      }}
    </QueryState>
  );
}
