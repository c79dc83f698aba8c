// The page's error banner: one message at a time (the last error), dismissed by the user or
// replaced by the next. A 403 shows the API's detail, which names the role needed.

import { ApiError, errorMessage } from "../api/errors";

export interface Banner {
  id: number;
  message: string;
  status?: number;
}

let current: Banner | null = null;
let seq = 0;
const listeners = new Set<() => void>();

export function showError(e: unknown, prefix = ""): void {
  const status = e instanceof ApiError ? e.status : undefined;
  const message = `${prefix}${errorMessage(e)}`;
  current = { id: ++seq, message, status };
  for (const l of listeners) l();
}

export function clearBanner(): void {
  current = null;
  for (const l of listeners) l();
}

export function subscribeBanner(fn: () => void): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

export function getBanner(): Banner | null {
  return current;
}
