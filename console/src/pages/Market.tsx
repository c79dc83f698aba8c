import { useState } from "react";

import { usePage, useApiQuery } from "../api/hooks";
import { keys } from "../api/keys";
import type { GapPage, NewsItem, SeriesStatus } from "../api/types";
import { PageTitle, QueryState, Section } from "../components/States";
import { Time } from "../components/Values";
import { formatNumber } from "../lib/money";
import { isoToLocalInput, localInputToIso } from "../lib/time";

function News() {
  const [symbol, setSymbol] = useState("");
  const [since, setSince] = useState(() => isoToLocalInput(Date.now() - 7 * 86_400_000));
  const [until, setUntil] = useState("");
  const query = { symbol: symbol.trim() || undefined, since: localInputToIso(since), until: localInputToIso(until), limit: 200 };
  const q = usePage<NewsItem>(keys.news(query), "/news", { query });
  return (
    <Section title="News (what the agents saw)">
      <div className="filters">
        <div className="field">
          <label htmlFor="news-symbol">Symbol</label>
          <input id="news-symbol" data-testid="news-symbol" value={symbol} onChange={(e) => setSymbol(e.target.value)} placeholder="MSFT/USD" />
        </div>
        <div className="field">
          <label htmlFor="news-since">Published from (UTC)</label>
          <input id="news-since" type="datetime-local" data-testid="news-since" value={since} onChange={(e) => setSince(e.target.value)} />
        </div>
        <div className="field">
          <label htmlFor="news-until">to (UTC)</label>
          <input id="news-until" type="datetime-local" data-testid="news-until" value={until} onChange={(e) => setUntil(e.target.value)} />
        </div>
      </div>
      <QueryState q={q} what="news" empty="No news item in this window.">
        {(d) => (
          <div className="table-wrap">
            <table className="table dense" data-testid="news-table">
              <thead>
                <tr>
                  <th>Published</th>
                  <th>Source</th>
                  <th>Title</th>
                  <th>Symbols</th>
                  <th className="num">Sentiment</th>
                  <th>Ingested</th>
                </tr>
              </thead>
              <tbody>
                {d.data.map((n) => (
                  <tr key={n.id} data-testid={`news-row-${n.id}`}>
                    <td>
                      <Time value={n.published_at} />
                    </td>
                    <td>{n.source}</td>
                    <td title={n.summary}>
                      {/^https?:\/\//.test(n.url) ? (
                        <a href={n.url} target="_blank" rel="noreferrer noopener">
                          {n.title}
                        </a>
                      ) : (
                        n.title
                      )}
                    </td>
                    <td>{n.symbols.join(", ")}</td>
                    <td className={`num ${n.sentiment > 0 ? "pos" : n.sentiment < 0 ? "neg" : ""}`} title={n.sentiment_method}>
                      {formatNumber(n.sentiment, 2)}
                    </td>
                    <td>
                      <Time value={n.ingested_at} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </QueryState>
    </Section>
  );
}

function Gaps({ s }: { s: SeriesStatus }) {
  const query = { exchange: s.exchange, symbol: s.symbol, timeframe: s.timeframe, limit: 500 };
  const q = useApiQuery<GapPage>(keys.gaps(query), "/data/gaps", { query, poll: false });
  return (
    <QueryState q={q} what="gaps" empty="No gap: every bar between the first and the last is stored.">
      {(d) => (
        <>
          <div className="muted">
            {d.count} gap{d.count === 1 ? "" : "s"}, {d.missing} missing bar{d.missing === 1 ? "" : "s"}
          </div>
          <table className="table dense" data-testid="gaps-table">
            <thead>
              <tr>
                <th>After</th>
                <th>Before</th>
                <th className="num">Missing bars</th>
              </tr>
            </thead>
            <tbody>
              {d.data.map((g) => (
                <tr key={g.after}>
                  <td>
                    <Time value={g.after} />
                  </td>
                  <td>
                    <Time value={g.before} />
                  </td>
                  <td className="num">{g.missing}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </QueryState>
  );
}

function Series() {
  const q = usePage<SeriesStatus>(keys.series({}), "/data", { query: { limit: 1000 }, poll: false });
  const [open, setOpen] = useState<string | null>(null);
  return (
    <Section title="Stored series">
      <QueryState q={q} what="stored series" empty="No series stored: backfill or import bars.">
        {(d) => (
          <div className="table-wrap">
            <table className="table dense" data-testid="series-table">
              <thead>
                <tr>
                  <th>Exchange</th>
                  <th>Symbol</th>
                  <th>Timeframe</th>
                  <th>First</th>
                  <th>Last</th>
                  <th className="num">Bars</th>
                  <th className="num">Gaps</th>
                  <th className="num">Missing</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {d.data.map((s) => {
                  const key = `${s.exchange}|${s.symbol}|${s.timeframe}`;
                  return [
                    <tr key={key} data-testid={`series-row-${s.exchange}-${s.symbol}-${s.timeframe}`}>
                      <td>{s.exchange}</td>
                      <td>{s.symbol}</td>
                      <td>{s.timeframe}</td>
                      <td>
                        <Time value={s.first} />
                      </td>
                      <td>
                        <Time value={s.last} />
                      </td>
                      <td className="num">{s.count}</td>
                      <td className={`num ${s.gap_count ? "warn" : ""}`}>{s.gap_count}</td>
                      <td className="num">{s.missing}</td>
                      <td>
                        <button type="button" className="btn btn-small" onClick={() => setOpen(open === key ? null : key)} disabled={!s.gap_count}>
                          {open === key ? "Hide gaps" : "Gaps"}
                        </button>
                      </td>
                    </tr>,
                    open === key ? (
                      <tr key={`${key}-gaps`} className="expanded-row">
                        <td colSpan={9}>
                          <Gaps s={s} />
                        </td>
                      </tr>
                    ) : null,
                  ];
                })}
              </tbody>
            </table>
          </div>
        )}
      </QueryState>
    </Section>
  );
}

export function Market() {
  return (
    <div className="page">
      <PageTitle>News and market data</PageTitle>
      <News />
      <Series />
    </div>
  );
}
