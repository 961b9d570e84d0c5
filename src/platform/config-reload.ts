// What a reloaded configuration changes, and whether each change applies to the running service
// or needs it restarted. Applied live: the log level, and the contents joined at start (joined or
// left one by one). Everything else (addresses, role, identity, directories, memory, engine and
// network tunables, player, source) is fixed when the service starts: the service restarts.
import type { Config } from '../config/schema.js';

export const LIVE_FIELDS: ReadonlySet<string> = new Set(['logLevel', 'join']);

export interface ReloadPlan {
  /** Every changed leaf, dotted (`engine.minPartners`); arrays count as one leaf. */
  changed: string[];
  /** The changed fields applied without a restart. */
  live: string[];
  /** The changed fields that need the service restarted. */
  restart: string[];
  /** Contents to join / leave when `join` changed. */
  join: { add: string[]; remove: string[] };
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Dotted paths of the leaves that differ between a and b. */
export function changedPaths(a: unknown, b: unknown, prefix = ''): string[] {
  if (isPlainObject(a) && isPlainObject(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    return [...keys].sort().flatMap((k) => changedPaths(a[k], b[k], prefix ? `${prefix}.${k}` : k));
  }
  return JSON.stringify(a) === JSON.stringify(b) ? [] : [prefix || '(root)'];
}

export function planReload(current: Config, next: Config): ReloadPlan {
  const changed = changedPaths(current, next);
  const live = changed.filter((p) => LIVE_FIELDS.has(p));
  const restart = changed.filter((p) => !LIVE_FIELDS.has(p));
  const before = new Set(current.join);
  const after = new Set(next.join);
  return {
    changed,
    live,
    restart,
    join: { add: next.join.filter((c) => !before.has(c)), remove: current.join.filter((c) => !after.has(c)) },
  };
}
