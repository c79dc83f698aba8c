// A server-sent events parser (the WHATWG event-stream format), fed chunks of text as they
// arrive: lines end in LF, CR or CRLF (a CR at the end of one chunk and an LF at the start of the
// next are one line end), "field: value" lines build an event, a blank line dispatches it,
// lines starting with ":" are comments, several data lines join with "\n".

export interface SseEvent {
  /** The event's type ("message" when none is given). */
  event: string;
  data: string;
  /** The last event id seen on the stream, this event's own or an earlier one. */
  id: string;
  /** Reconnection time the server asked for (ms), when given on this event. */
  retry?: number;
}

export interface SseHandlers {
  onEvent: (e: SseEvent) => void;
  onComment?: (text: string) => void;
  onRetry?: (ms: number) => void;
}

export class SseParser {
  private buffer = "";
  private skipLf = false;
  private data: string[] = [];
  private hasData = false;
  private eventType = "";
  private retry: number | undefined;
  /** The last event id (kept across events, as EventSource does: send it as Last-Event-ID). */
  lastEventId: string;

  constructor(
    private readonly handlers: SseHandlers,
    lastEventId = "",
  ) {
    this.lastEventId = lastEventId;
  }

  /** Feed the next chunk of decoded text. */
  feed(chunk: string): void {
    let text = chunk;
    if (this.skipLf) {
      if (text.startsWith("\n")) text = text.slice(1);
      if (text.length) this.skipLf = false;
    }
    this.buffer += text;
    let start = 0;
    for (let i = 0; i < this.buffer.length; i++) {
      const c = this.buffer[i];
      if (c !== "\n" && c !== "\r") continue;
      this.line(this.buffer.slice(start, i));
      if (c === "\r") {
        if (i + 1 < this.buffer.length) {
          if (this.buffer[i + 1] === "\n") i++;
        } else {
          this.skipLf = true; // an LF may open the next chunk
        }
      }
      start = i + 1;
    }
    this.buffer = this.buffer.slice(start);
  }

  /** The stream ended: an event without its blank line is dropped, as the format says. */
  end(): void {
    this.buffer = "";
    this.reset();
  }

  private reset(): void {
    this.data = [];
    this.hasData = false;
    this.eventType = "";
    this.retry = undefined;
  }

  private line(line: string): void {
    if (line === "") {
      this.dispatch();
      return;
    }
    if (line.startsWith(":")) {
      this.handlers.onComment?.(line.slice(1).replace(/^ /, ""));
      return;
    }
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    switch (field) {
      case "data":
        this.data.push(value);
        this.hasData = true;
        break;
      case "event":
        this.eventType = value;
        break;
      case "id":
        if (!value.includes("\0")) this.lastEventId = value;
        break;
      case "retry":
        if (/^\d+$/.test(value)) {
          this.retry = parseInt(value, 10);
          this.handlers.onRetry?.(this.retry);
        }
        break;
      default:
        break; // unknown fields are ignored
    }
  }

  private dispatch(): void {
    if (!this.hasData) {
      this.reset();
      return;
    }
    const e: SseEvent = {
      event: this.eventType || "message",
      data: this.data.join("\n"),
      id: this.lastEventId,
    };
    if (this.retry !== undefined) e.retry = this.retry;
    this.reset();
    this.handlers.onEvent(e);
  }
}

export interface ChangeFrame {
  topic: string;
  strategy_id: string | null;
  ref: string | null;
}

/** The payload of a `change` event, or null when it is not one. */
export function parseChange(e: SseEvent): ChangeFrame | null {
  if (e.event !== "change") return null;
  try {
    const d = JSON.parse(e.data) as Partial<ChangeFrame>;
    if (typeof d.topic !== "string") return null;
    return {
      topic: d.topic,
      strategy_id: typeof d.strategy_id === "string" ? d.strategy_id : null,
      ref: typeof d.ref === "string" ? d.ref : null,
    };
  } catch {
    return null;
  }
}
