// Builds the tracker's registry from the `registry` setting, and says what the tracker's limits are
// before they bite: the connection limit against the process's open-file limit.
import { readFileSync } from 'node:fs';
import type { Logger } from '../platform/logger.js';
import type { Random } from '../engine/ports.js';
import { MemoryRegistry } from './memory-registry.js';
import { parseRegistryUrl } from './registry-url.js';
import type { RegistryPort } from './registry-port.js';

/** File descriptors kept aside from peer connections: listening sockets, control API, Redis, logs, files. */
export const FD_RESERVE = 64;

/** Opens the registry `spec` names ('memory', redis://..., redis-cluster://...). Never throws for an unreachable Redis: it retries. */
export async function openRegistry(spec: string, random: Random, log: Logger): Promise<RegistryPort> {
  if (spec === '' || spec === 'memory') return new MemoryRegistry(random);
  const target = parseRegistryUrl(spec);
  if (typeof target === 'string') throw new Error(`registry: ${target}`);
  // Loaded only here: a box (or an in-memory tracker) never evaluates the Redis client.
  const { RedisRegistry } = await import('./redis-registry.js');
  const reg = new RedisRegistry(target, log.child({ component: 'registry' }));
  await reg.start();
  return reg;
}

/** The soft limit on open files (/proc/self/limits), or undefined where it cannot be read. */
export function openFileLimit(limitsText?: string): number | undefined {
  let text = limitsText;
  if (text === undefined) {
    try {
      text = readFileSync('/proc/self/limits', 'utf8');
    } catch {
      return undefined;
    }
  }
  const m = /^Max open files\s+(\d+|unlimited)\s/m.exec(text);
  if (!m) return undefined;
  return m[1] === 'unlimited' ? Number.MAX_SAFE_INTEGER : Number(m[1]);
}

/**
 * The connection limit the tracker can keep: the configured one, or less when the open-file limit
 * would stop accepting first (silently: accept() fails with EMFILE and nothing is logged). Logs both.
 */
export function trackerConnectionLimit(configured: number, fdLimit: number | undefined, log: Logger): number {
  if (fdLimit === undefined) {
    log.info({ maxConnections: configured }, `tracker: up to ${configured} connections (open-file limit unknown)`);
    return configured;
  }
  const room = fdLimit - FD_RESERVE;
  if (configured <= room) {
    log.info({ maxConnections: configured, fdLimit }, `tracker: up to ${configured} connections; open-file limit ${fdLimit}`);
    return configured;
  }
  const kept = Math.max(1, room);
  log.warn(
    { maxConnections: configured, fdLimit, kept },
    `tracker: net.trackerMaxConnections ${configured} exceeds the open-file limit ${fdLimit} less ${FD_RESERVE} kept aside; accepting at most ${kept} connections (raise LimitNOFILE / ulimit -n to use ${configured})`,
  );
  return kept;
}
