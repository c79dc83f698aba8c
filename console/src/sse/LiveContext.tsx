import { useQueryClient } from "@tanstack/react-query";
import { createContext, type ReactNode, useContext, useEffect, useState } from "react";

import { tokens, url } from "../api/client";
import { FrameBatcher } from "../api/keys";
import { StreamClient, type StreamState } from "./stream";

const LiveContext = createContext<StreamState>("polling");

/** Reads GET /stream while signed in; answers "live", or "polling" while it is down. */
export function LiveProvider({ enabled, children }: { enabled: boolean; children: ReactNode }) {
  const client = useQueryClient();
  const [state, setState] = useState<StreamState>("polling");
  useEffect(() => {
    if (!enabled) return;
    const batcher = new FrameBatcher(client);
    const stream = new StreamClient({
      url: url("/stream"),
      token: () => tokens.accessToken(),
      onUnauthorized: () => tokens.refreshNow(),
      onChange: (frame) => batcher.add(frame),
      onReset: () => void client.invalidateQueries(),
      onState: setState,
    });
    stream.start();
    return () => {
      stream.stop();
      batcher.stop();
    };
  }, [enabled, client]);
  return <LiveContext.Provider value={state}>{children}</LiveContext.Provider>;
}

export function useLive(): StreamState {
  return useContext(LiveContext);
}

/** The refetch interval of a visible query: none while the stream is live, ``ms`` otherwise. */
export function usePollInterval(ms = 5000): number | false {
  return useLive() === "live" ? false : ms;
}
