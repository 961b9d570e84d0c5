// The control API's wire form: one JSON object per line over a unix socket.
// Request: {"id":1,"method":"status","params":{}}  Answer: {"id":1,"result":...} or {"id":1,"error":"..."}

export interface ControlRequest {
  id: number;
  method: string;
  params?: Record<string, unknown>;
}
export type ControlResponse = { id: number; result: unknown } | { id: number; error: string };

/** Longest request line accepted (bytes); longer input closes the client connection. */
export const MAX_CONTROL_LINE_BYTES = 64 * 1024;

export function parseRequest(line: string): ControlRequest | string {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return 'request is not valid JSON';
  }
  if (typeof v !== 'object' || v === null) return 'request must be a JSON object';
  const r = v as Record<string, unknown>;
  if (typeof r.id !== 'number') return 'request.id must be a number';
  if (typeof r.method !== 'string') return 'request.method must be a string';
  if (r.params !== undefined && (typeof r.params !== 'object' || r.params === null || Array.isArray(r.params))) {
    return 'request.params must be an object';
  }
  return { id: r.id, method: r.method, params: r.params as Record<string, unknown> | undefined };
}
