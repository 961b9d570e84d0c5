// Tunables of the TCP transport, with defaults sized for a Raspberry-Pi-class box. Every value can be
// overridden through the typed config; validateNetLimits() names the first bad field.

// Each field's meaning: the MEANINGS record below the defaults.
export interface NetLimits {
  maxConnections: number;
  trackerMaxConnections: number;
  maxQueueBytes: number;
  maxPayloadBytes: number;
  keepAliveMs: number;
  idleTimeoutMs: number;
  connectTimeoutMs: number;
  helloTimeoutMs: number;
  slowPeerTimeoutMs: number;
}

const MIB = 1024 * 1024;

export const DEFAULT_NET_LIMITS: Readonly<NetLimits> = Object.freeze({
  maxConnections: 64,
  trackerMaxConnections: 4096,
  maxQueueBytes: 8 * MIB,
  maxPayloadBytes: 4 * MIB,
  keepAliveMs: 5_000,
  idleTimeoutMs: 15_000,
  connectTimeoutMs: 3_000,
  helloTimeoutMs: 3_000,
  slowPeerTimeoutMs: 10_000,
});

/** What each field means (the configuration reference, docs/configuration.md, is generated from these). */
export const NET_LIMITS_MEANINGS = Object.freeze({
  maxConnections: 'Most simultaneous TCP connections (incoming + outgoing, any state).',
  trackerMaxConnections: "maxConnections of the tracker role: a central tracker is reached by every newcomer and kept as a member by many, so a box's 64 would turn the 64th viewer away before it learns any member.",
  maxQueueBytes: 'Most bytes waiting to be sent on one connection (socket.writableLength / pre-Hello queue).',
  maxPayloadBytes: 'Largest frame payload accepted from (and sent to) a peer.',
  keepAliveMs: 'Send a KeepAlive after this long with nothing sent.',
  idleTimeoutMs: "Close a connection that received nothing for this long (reason 'idle').",
  connectTimeoutMs: 'Give up an outgoing TCP connect after this long.',
  helloTimeoutMs: 'Close a connection whose peer sent no Hello within this long after the TCP connect.',
  slowPeerTimeoutMs: "Close a peer whose send queue stayed full for this long (reason 'slow-peer').",
}) satisfies Readonly<Record<keyof NetLimits, string>>;

/**
 * When a connection counts as hostile and is closed (reason 'hostile'): a well-behaved peer never
 * produces frame errors at all (TCP already checksums), so these bounds only catch peers that send
 * garbage on purpose or are badly broken; below them every error is a warning and the connection
 * resyncs and lives on.
 */
export interface HostileLimits {
  /** More frame errors (CRC, bad version, oversized, unknown type, undecodable, garbage) than this. */
  maxFrameErrors: number;
  /** More skipped (undecodable) bytes than this. */
  maxSkippedBytes: number;
}

export const DEFAULT_HOSTILE_LIMITS: Readonly<HostileLimits> = Object.freeze({
  maxFrameErrors: 1_000,
  maxSkippedBytes: 16 * MIB,
});

/** Suppressed repeated warnings are summarised at most this often, per connection (ms). */
export const WARNING_SUMMARY_INTERVAL_MS = 10_000;

/** Throws a RangeError naming the first field that is not a positive integer (or is inconsistent). */
export function validateNetLimits(l: NetLimits): NetLimits {
  for (const [k, v] of Object.entries(l)) {
    if (!Number.isInteger(v) || v <= 0) throw new RangeError(`net limits ${k}: ${String(v)} is not a positive integer`);
  }
  if (l.keepAliveMs >= l.idleTimeoutMs) {
    throw new RangeError(
      `net limits keepAliveMs: ${l.keepAliveMs} must be below idleTimeoutMs (${l.idleTimeoutMs}) or idle pairs get closed`,
    );
  }
  return l;
}

/** Just the NetLimits fields of a larger object (the `net` config also holds non-numeric switches). */
export function pickNetLimits(l: NetLimits): NetLimits {
  const out: Record<string, number> = {};
  for (const k of Object.keys(DEFAULT_NET_LIMITS)) out[k] = (l as unknown as Record<string, number>)[k] as number;
  return out as unknown as NetLimits;
}

/** Period of the transport's single housekeeping timer: fine enough for the shortest limit. */
export function tickIntervalMs(l: NetLimits): number {
  const shortest = Math.min(l.keepAliveMs, l.idleTimeoutMs, l.connectTimeoutMs, l.helloTimeoutMs, l.slowPeerTimeoutMs);
  return Math.max(5, Math.min(1_000, Math.floor(shortest / 4)));
}
