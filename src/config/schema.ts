// The typed configuration: one zod schema with defaults for every field. Engine and network tunables
// are generated from the engines' own default objects, so every tunable is overridable by name.
import { z } from 'zod';
import { DEFAULT_ENGINE_CONFIG, ENGINE_CONFIG_MEANINGS } from '../engine/engine-config.js';
import { DEFAULT_LIVE_CONFIG, LIVE_CONFIG_MEANINGS } from '../engine/live-config.js';
import { DEFAULT_DOWNLOAD_CONFIG, DOWNLOAD_CONFIG_MEANINGS } from '../engine/download-config.js';
import { DEFAULT_NET_LIMITS, NET_LIMITS_MEANINGS, type NetLimits } from '../net/net-limits.js';
import { LIVE_PLAYER_BUFFER_MS } from '../player/live-output.js';
import { parseHostPort } from './address.js';
import { imsConfigSchema } from '../ims/ims-config.js';
import { segmentConfigSchema } from './segment-config.js';
import { drmConfigSchema } from '../drm/drm-config.js';
import { webConfigSchema } from './web-config.js';
import { updateConfigSchema } from '../update/update-config.js';
import { parseRegistryUrl } from '../tracker/registry-url.js';

export const ROLES = ['node', 'tracker', 'main', 'local'] as const;
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

const hostPort = (what: string) =>
  z.string().superRefine((v, ctx) => {
    const r = parseHostPort(v);
    if (typeof r === 'string') ctx.addIssue({ code: 'custom', message: `${what}: ${r}` });
  });

const optionalHostPort = (what: string) =>
  z.string().superRefine((v, ctx) => {
    if (v === '') return;
    const r = parseHostPort(v);
    if (typeof r === 'string') ctx.addIssue({ code: 'custom', message: `${what}: ${r}` });
  });

/** `net`: the transport's tunables plus the home-router switch (docs/nat.md). */
export interface NetConfig extends NetLimits {
  portMapping: boolean;
  holePunching: boolean;
  relayMaxKbps: number;
}

/** Default of `control`: the control API's unix socket (also the client commands' default). */
export const DEFAULT_CONTROL_SOCKET = '/run/superdist/control.sock';
/** Default of `stateDir` (also the `drm` commands' default). */
export const DEFAULT_STATE_DIR = '/var/lib/superdist';

/**
 * A strict object of non-negative integers whose keys and defaults are those of `defaults`, each
 * described by its entry in `meanings` (the engines' own tunables, overridable by name).
 */
function tunables<T extends Record<keyof T, number>>(defaults: Readonly<T>, meanings: Readonly<Record<keyof T, string>>, extra: z.ZodRawShape = {}) {
  const shape: Record<string, z.core.$ZodType> = { ...extra };
  for (const [key, value] of Object.entries(defaults) as [keyof T & string, number][]) {
    shape[key] = z
      .number({ error: 'expected a number' })
      .int('expected a whole number')
      .nonnegative('expected a number >= 0')
      .default(value)
      .describe(meanings[key]);
  }
  return z
    .object(shape)
    .strict()
    .prefault({}) as unknown as z.ZodType<T, Partial<T> | undefined>;
}

export const configSchema = z
  .object({
    node: z
      .object({
        id: z.string().regex(/^[0-9a-zA-Z._-]{0,64}$/, 'expected up to 64 letters, digits, . _ -').default('').describe("Peer id; '' = generated once and kept in stateDir/peer-id."),
        name: z.string().max(64).default('').describe("Human name shown on the TV and in status; '' = host name."),
        role: z.enum(ROLES).default('node').describe('What the process is: `node` (a viewer/relay), `tracker`, `main` (uplink + local tracker on the segment), `local` (segment only, finds the local tracker itself).'),
      })
      .strict()
      .default({ id: '', name: '', role: 'node' })
      .describe('This peer: its id, name and role.'),
    listen: hostPort('listen').default('0.0.0.0:7878').describe('Where the peer protocol listens (TCP).'),
    advertise: z.string().max(255).default('').describe("Address announced to others; '' = the listen host, or the first non-loopback IPv4 for 0.0.0.0."),
    tracker: optionalHostPort('tracker').default('').describe("Central (or local) tracker; '' = none (a tracker itself, or discovery on the segment)."),
    registry: z
      .string()
      .superRefine((v, ctx) => {
        if (v === 'memory') return;
        const r = parseRegistryUrl(v);
        if (typeof r === 'string') ctx.addIssue({ code: 'custom', message: r });
      })
      .default('memory')
      .describe('Tracker role: where registrations live. `memory` (one process, the default; the tracker is also a peer), `redis://HOST:PORT` (one Redis server) or `redis-cluster://HOST:PORT,HOST:PORT,...` (a Redis Cluster) shared by several tracker front ends, each answering joins only (docs/tracker-scale.md).'),
    trackerPeer: z.boolean().default(true).describe('Tracker role with the `memory` registry: also be a peer of every content it knows (listed first in join answers, partners like anyone). false: answer joins only, as a front end on Redis always does (a central tracker for many boxes; docs/tracker-scale.md).'),
    trackerUdp: z.boolean().default(true).describe('Datagram announces (after BEP 15; docs/tracker-scale.md). Tracker role: also answer joins and announces over UDP on the listen port (a connect exchange gives a connection id bound to the source address; one datagram per answer). Other roles: re-announce and leave over UDP to a tracker that answers joins only (the first join with its redirect and IMS ticket, a tracker that is also a peer, and boxes behind a NAT use TCP), falling back to TCP when the tracker does not answer datagrams. false: TCP only.'),
    control: z.string().min(1).default(DEFAULT_CONTROL_SOCKET).describe('Unix socket of the control API.'),
    stateDir: z.string().min(1).default(DEFAULT_STATE_DIR).describe('Persistent state: peer id, keys, partial downloads.'),
    logLevel: z.enum(LOG_LEVELS).default('info').describe('Least severe log level written (pino: trace, debug, info, warn, error, fatal, silent).'),
    join: z.array(z.string().min(1).max(255)).default([]).describe('Contents to join at start (content ids).'),
    memory: z
      .object({
        totalRamBytes: z.number().int().nonnegative().default(0).describe('Override of the detected RAM (bytes); 0 = detect.'),
        budgetBytes: z.number().int().nonnegative().default(0).describe('Override of the buffer budget (bytes); 0 = derived from RAM.'),
      })
      .strict()
      .default({ totalRamBytes: 0, budgetBytes: 0 })
      .describe('The RAM budget of chunk buffers: a share of the detected RAM (8 % at 256 MB to 15 % from 2 GB), 8 MiB to 512 MiB.'),
    tickMs: z.number().int().min(10).max(5000).default(100).describe('Engine timer period: how often time-based work runs (ms).'),
    engine: tunables(DEFAULT_ENGINE_CONFIG, ENGINE_CONFIG_MEANINGS).describe(
      'Overlay engine: membership gossip (mCache), partnerships (pCache), member scheduler, tracker registry and redirects.',
    ),
    ims: imsConfigSchema.describe('IMS access (src/ims/ims-config.ts).'),
    net: (tunables(DEFAULT_NET_LIMITS, NET_LIMITS_MEANINGS, {
      portMapping: z.boolean().default(true).describe('Ask the home router to forward the listen port (UPnP IGD, NAT-PMP) so peers outside can dial this box (docs/nat.md); off: never ask.'),
      holePunching: z.boolean().default(true).describe('Behind a NAT, connect to other boxes behind NATs by hole punching through the tracker, from the listen port + 1 (docs/nat.md); off: never punch.'),
      relayMaxKbps: z.number().int().min(0).max(1_000_000).default(1600).describe('Upload this box sets aside to relay for two boxes behind NATs that cannot connect to each other (kbit/s; docs/nat.md "Relay"); past it relayed messages are refused; 0: never relay.'),
    }) as unknown as z.ZodType<NetConfig, Partial<NetConfig> | undefined>).describe(
      'TCP transport: connection limits, send-queue and frame caps, keep-alive and timeouts; home-router port mapping.',
    ),
    live: tunables(DEFAULT_LIVE_CONFIG, LIVE_CONFIG_MEANINGS).describe('Live data plane: chunk duration, prebuffer, scheduler timers, upload slots.'),
    download: tunables(DEFAULT_DOWNLOAD_CONFIG, DOWNLOAD_CONFIG_MEANINGS).describe('Download data plane: piece size, request window, endgame, upload slots, record flushing, cache.'),
    watch: z.string().max(255).default('').describe("Channel to watch at start (name or live id); '' = none."),
    record: z.string().default('').describe("Write exactly the bytes the player receives to this file; '' = no recording."),
    player: z
      .object({
        kind: z.enum(['mpv', 'none']).default('mpv').describe('`mpv` plays on the TV; `none` relays and records only.'),
        binary: z.string().min(1).default('mpv').describe('The mpv executable (a name looked up in PATH, or a path).'),
        output: z.enum(['auto', 'window', 'headless']).default('auto').describe('`auto`: a window/KMS output when a display exists, headless otherwise.'),
        bufferMs: z.number().int().min(500).max(60_000).default(LIVE_PLAYER_BUFFER_MS).describe("The player's buffer: the TV's player is fed at most this far ahead of the playback clock, the engine's playhead (ms)."),
        extraArgs: z.array(z.string()).default([]).describe('Extra command-line arguments given to mpv.'),
        ipcSocket: z.string().default('').describe("mpv's JSON IPC socket; '' = a private temporary one."),
        idleScreen: z.boolean().default(false).describe('With nothing to play, mpv runs from the start and shows the device name, its addresses and the channels available (src/player/idle-screen.ts); off: mpv starts with the first channel.'),
      })
      .strict()
      .prefault({})
      .describe('The player on the TV (mpv over JSON IPC) and its feed.'),
    streamListen: hostPort('streamListen').default('127.0.0.1:0').describe('Local HTTP the player reads from (127.0.0.1 only).'),
    segment: segmentConfigSchema.describe('Main node / local node on a local segment (src/config/segment-config.ts).'),
    web: webConfigSchema.describe('The web remote and dashboard (src/config/web-config.ts, docs/web.md).'),
    drm: drmConfigSchema.describe('Superdistribution rights: rights issuer, protected source, domain manager / DRM proxy (src/drm/drm-config.ts).'),
    update: updateConfigSchema.describe('Firmware updates: signed A/B bundles found on the update channel, fetched from other boxes, trial boot and rollback (src/update/update-config.ts, docs/updates.md).'),
    source: z
      .object({
        channel: z
          .string()
          .regex(/^([0-9A-Za-z._-]{1,64})?$/, 'expected 1-64 letters, digits, . _ -')
          .default('')
          .describe("Channel name (its key lives in stateDir/channels/NAME.key); '' = not a source."),
        input: z.string().default('').describe('MPEG-TS input: a file, - for stdin, or udp://HOST:PORT.'),
        loop: z.boolean().default(false).describe('Repeat an input file from its start when it ends.'),
      })
      .strict()
      .prefault({})
      .describe('Source role: publish a live channel.'),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.source.channel && !c.source.input) {
      ctx.addIssue({ code: 'custom', path: ['source', 'input'], message: 'a source channel needs an input (file, - or udp://HOST:PORT)' });
    }
    if (c.engine.minPartners > c.engine.maxPartners) {
      ctx.addIssue({
        code: 'custom',
        path: ['engine', 'minPartners'],
        message: `must not exceed engine.maxPartners (${c.engine.maxPartners})`,
      });
    }
  });

export type Config = z.infer<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;
