// The typed configuration: one zod schema with defaults for every field. Engine and network tunables
// are generated from the engines' own default objects, so every tunable is overridable by name.
import { z } from 'zod';
import { DEFAULT_ENGINE_CONFIG, type EngineConfig } from '../engine/engine-config.js';
import { DEFAULT_LIVE_CONFIG, type LiveConfig } from '../engine/live-config.js';
import { DEFAULT_DOWNLOAD_CONFIG, type DownloadConfig } from '../engine/download-config.js';
import { DEFAULT_NET_LIMITS, type NetLimits } from '../net/connection-manager.js';
import { parseHostPort } from './address.js';
import { imsConfigSchema } from '../ims/ims-config.js';
import { segmentConfigSchema } from './segment-config.js';
import { drmConfigSchema } from '../drm/drm-config.js';
import { webConfigSchema } from './web-config.js';

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

/** A strict object of non-negative integers whose keys and defaults are those of `defaults`. */
function tunables<T extends Record<string, number>>(defaults: T) {
  const shape: Record<string, z.ZodType<number>> = {};
  for (const [key, value] of Object.entries(defaults)) {
    shape[key] = z
      .number({ error: 'expected a number' })
      .int('expected a whole number')
      .nonnegative('expected a number >= 0')
      .default(value);
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
        /** Peer id; '' = generated once and kept in stateDir. */
        id: z.string().regex(/^[0-9a-zA-Z._-]{0,64}$/, 'expected up to 64 letters, digits, . _ -').default(''),
        /** Human name shown on the TV and in status; '' = host name. */
        name: z.string().max(64).default(''),
        role: z.enum(ROLES).default('node'),
      })
      .strict()
      .default({ id: '', name: '', role: 'node' }),
    /** Where the peer protocol listens (TCP). */
    listen: hostPort('listen').default('0.0.0.0:7878'),
    /** Address announced to others; '' = the listen host, or the first non-loopback IPv4 for 0.0.0.0. */
    advertise: z.string().max(255).default(''),
    /** Central (or local) tracker; '' = none (a tracker itself, or discovery on the segment). */
    tracker: optionalHostPort('tracker').default(''),
    /** Unix socket of the control API. */
    control: z.string().min(1).default('/run/superdist/control.sock'),
    /** Persistent state: peer id, keys, partial downloads. */
    stateDir: z.string().min(1).default('/var/lib/superdist'),
    logLevel: z.enum(LOG_LEVELS).default('info'),
    /** Contents to join at start (content ids). */
    join: z.array(z.string().min(1).max(255)).default([]),
    memory: z
      .object({
        /** Override of the detected RAM (bytes); 0 = detect. */
        totalRamBytes: z.number().int().nonnegative().default(0),
        /** Override of the buffer budget (bytes); 0 = derived from RAM. */
        budgetBytes: z.number().int().nonnegative().default(0),
      })
      .strict()
      .default({ totalRamBytes: 0, budgetBytes: 0 }),
    /** Engine timer period: how often time-based work runs (ms). */
    tickMs: z.number().int().min(10).max(5000).default(100),
    engine: tunables(DEFAULT_ENGINE_CONFIG as unknown as Record<string, number>) as unknown as z.ZodType<
      EngineConfig,
      Partial<EngineConfig> | undefined
    >,
    /** IMS access (src/ims/ims-config.ts). */
    ims: imsConfigSchema,
    net: tunables(DEFAULT_NET_LIMITS as unknown as Record<string, number>) as unknown as z.ZodType<
      NetLimits,
      Partial<NetLimits> | undefined
    >,
    /** Live data plane: chunk duration, prebuffer, scheduler timers, upload slots. */
    live: tunables(DEFAULT_LIVE_CONFIG as unknown as Record<string, number>) as unknown as z.ZodType<
      LiveConfig,
      Partial<LiveConfig> | undefined
    >,
    /** Download data plane: piece size, request window, endgame, upload slots, record flushing, cache. */
    download: tunables(DEFAULT_DOWNLOAD_CONFIG as unknown as Record<string, number>) as unknown as z.ZodType<
      DownloadConfig,
      Partial<DownloadConfig> | undefined
    >,
    /** Channel to watch at start (name or live id); '' = none. */
    watch: z.string().max(255).default(''),
    /** Write exactly the bytes the player receives to this file; '' = no recording. */
    record: z.string().default(''),
    player: z
      .object({
        /** `mpv` plays on the TV; `none` relays and records only. */
        kind: z.enum(['mpv', 'none']).default('mpv'),
        binary: z.string().min(1).default('mpv'),
        /** `auto`: a window/KMS output when a display exists, headless otherwise. */
        output: z.enum(['auto', 'window', 'headless']).default('auto'),
        /** The player's buffer: the token bucket never runs further ahead than this (ms). */
        bufferMs: z.number().int().min(500).max(60_000).default(4000),
        extraArgs: z.array(z.string()).default([]),
        /** mpv's JSON IPC socket; '' = a private temporary one. */
        ipcSocket: z.string().default(''),
        /**
         * With nothing to play, mpv runs from the start and shows the device name, its addresses and
         * the channels available (src/player/idle-screen.ts); off: mpv starts with the first channel.
         */
        idleScreen: z.boolean().default(false),
      })
      .strict()
      .prefault({}),
    /** Local HTTP the player reads from (127.0.0.1 only). */
    streamListen: hostPort('streamListen').default('127.0.0.1:0'),
    /** Main node / local node on a local segment (src/config/segment-config.ts). */
    segment: segmentConfigSchema,
    /** The web remote and dashboard (src/config/web-config.ts, docs/web.md). */
    web: webConfigSchema,
    /** Superdistribution rights: rights issuer, protected source, domain manager / DRM proxy (src/drm/drm-config.ts). */
    drm: drmConfigSchema,
    /** Source role: publish a live channel. */
    source: z
      .object({
        /** Channel name (its key lives in stateDir/channels/NAME.key); '' = not a source. */
        channel: z.string().regex(/^([0-9A-Za-z._-]{1,64})?$/, 'expected 1-64 letters, digits, . _ -').default(''),
        /** MPEG-TS input: a file, - for stdin, or udp://HOST:PORT. */
        input: z.string().default(''),
        loop: z.boolean().default(false),
      })
      .strict()
      .prefault({}),
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
