import { parseChange, type SseEvent, SseParser } from "./parser";

function collect(chunks: string[], lastId = "") {
  const events: SseEvent[] = [];
  const comments: string[] = [];
  const p = new SseParser({ onEvent: (e) => events.push(e), onComment: (c) => comments.push(c) }, lastId);
  for (const c of chunks) p.feed(c);
  return { events, comments, parser: p };
}

describe("SSE frame parser", () => {
  it("parses a change frame", () => {
    const { events } = collect([
      'id: 7\nevent: change\ndata: {"topic": "orders", "strategy_id": "s1", "ref": null}\n\n',
    ]);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ id: "7", event: "change" });
    expect(parseChange(events[0])).toEqual({ topic: "orders", strategy_id: "s1", ref: null });
  });

  it("joins frames split anywhere across chunks", () => {
    const frame = 'id: 12\nevent: change\ndata: {"topic":"fills","strategy_id":null,"ref":"x"}\n\n';
    for (let cut = 1; cut < frame.length; cut++) {
      const { events } = collect([frame.slice(0, cut), frame.slice(cut)]);
      expect(events).toHaveLength(1);
      expect(events[0].id).toBe("12");
      expect(parseChange(events[0])?.ref).toBe("x");
    }
    const { events } = collect(frame.split(""));
    expect(events).toHaveLength(1);
  });

  it("joins multi-line data with newlines", () => {
    const { events } = collect(["data: first\ndata: second\ndata:third\n\n"]);
    expect(events[0].data).toBe("first\nsecond\nthird");
    expect(events[0].event).toBe("message");
  });

  it("skips comments and pings", () => {
    const { events, comments } = collect([": ping\n\n", ":ping\n", "data: x\n\n", ": ping\n\n"]);
    expect(events).toHaveLength(1);
    expect(comments).toEqual(["ping", "ping", "ping"]);
  });

  it("keeps the last id across events and for reconnects", () => {
    const { events, parser } = collect(["id: 3\ndata: a\n\n", "data: b\n\n", "id: 5\n\n"]);
    expect(events.map((e) => e.id)).toEqual(["3", "3"]);
    expect(parser.lastEventId).toBe("5"); // an id line alone still moves it
    const resumed = collect(["data: c\n\n"], "5");
    expect(resumed.events[0].id).toBe("5");
  });

  it("accepts CRLF and CR line ends, even split between chunks", () => {
    const crlf = collect(["id: 1\r\ndata: a\r", "\n\r", "\n"]);
    expect(crlf.events).toHaveLength(1);
    expect(crlf.events[0].data).toBe("a");
    const cr = collect(["data: a\r\rdata: b\r\r"]);
    expect(cr.events.map((e) => e.data)).toEqual(["a", "b"]);
  });

  it("drops an event without data and an unfinished one at the end", () => {
    const { events, parser } = collect(["event: change\n\n", "data: half"]);
    expect(events).toHaveLength(0);
    parser.end();
    expect(events).toHaveLength(0);
  });

  it("reads retry and strips only one leading space", () => {
    const retries: number[] = [];
    const events: SseEvent[] = [];
    const p = new SseParser({ onEvent: (e) => events.push(e), onRetry: (ms) => retries.push(ms) });
    p.feed("retry: 3000\ndata:  two spaces\n\n");
    expect(retries).toEqual([3000]);
    expect(events[0].data).toBe(" two spaces");
  });

  it("rejects payloads that are not change frames", () => {
    expect(parseChange({ event: "change", data: "not json", id: "" })).toBeNull();
    expect(parseChange({ event: "message", data: '{"topic":"x"}', id: "" })).toBeNull();
    expect(parseChange({ event: "change", data: '{"nope":1}', id: "" })).toBeNull();
  });
});
