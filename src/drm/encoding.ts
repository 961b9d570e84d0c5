// Byte and JSON encodings shared by every DRM format: base64url, canonical JSON (sorted keys, no
// whitespace) so a signature covers exactly one byte string, and the DRM error type.

/** A refusal or a bad input the user can act on; `code` is stable for tests and the control API. */
export class DrmError extends Error {
  override name = 'DrmError';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export function b64u(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64url');
}

export function fromB64u(s: unknown, what: string, bytes?: number): Buffer {
  if (typeof s !== 'string' || !/^[A-Za-z0-9_-]*$/.test(s)) throw new DrmError('bad-format', `${what}: expected base64url text`);
  const b = Buffer.from(s, 'base64url');
  if (bytes !== undefined && b.length !== bytes) throw new DrmError('bad-format', `${what}: expected ${bytes} bytes, got ${b.length}`);
  return b;
}

/** JSON with object keys sorted at every level; undefined members are dropped (as JSON.stringify does). */
export function canonicalJson(v: unknown): string {
  if (v === null || typeof v !== 'object') {
    if (typeof v === 'number' && !Number.isFinite(v)) throw new DrmError('bad-format', 'canonical JSON: non-finite number');
    return JSON.stringify(v);
  }
  if (Array.isArray(v)) return `[${v.map((x) => canonicalJson(x ?? null)).join(',')}]`;
  const entries = Object.entries(v as Record<string, unknown>)
    .filter(([, x]) => x !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonicalJson(x)}`).join(',')}}`;
}

/** A plain JSON object or a clear error naming what it should have been. */
export function asObject(v: unknown, what: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new DrmError('bad-format', `${what}: expected a JSON object`);
  return v as Record<string, unknown>;
}

export function asString(v: unknown, what: string): string {
  if (typeof v !== 'string' || v === '') throw new DrmError('bad-format', `${what}: expected a non-empty string`);
  return v;
}
