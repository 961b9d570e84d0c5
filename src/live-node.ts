// Composition of the live-channel side of a node: the engine's data plane (LiveChannels), the
// source (LivePublisher) when the node publishes, and the TV (WatchSession → StreamServer → mpv)
// when it watches. Channel switching (play/stop) goes through here.
import type { Config } from './config/schema.js';
import { parseHostPort } from './config/address.js';
import { LiveChannels, type LiveChannelsEngine, type LiveStats } from './engine/live-channels.js';
import type { PeerEngine } from './engine/peer-engine.js';
import type { Picker } from './engine/picker.js';
import type { Clock, Random } from './engine/ports.js';
import { hostname } from 'node:os';
import { queryContents, resolveContent } from './net/contents-query.js';
import type { Contact } from './protocol/messages.js';
import type { Logger } from './platform/logger.js';
import { hostAddresses, IdleScreen, type IdleInfo, type IdleScreenStatus } from './player/idle-screen.js';
import { MpvNotFoundError, MpvPlayer } from './player/mpv-process.js';
import { PhoneMedia } from './player/phone-media.js';
import { StreamServer } from './player/stream-server.js';
import { WatchSession, type WatchStats } from './player/watch-session.js';
import { loadOrCreateChannelKeys } from './source/channel-keys.js';
import { isLiveChannelId } from './source/chunk-signing.js';
import { LiveChunkVerifier } from './source/chunk-verifier.js';
import { LivePublisher, type PublisherStats } from './source/live-publisher.js';
import type { ChunkRecord } from './engine/live-ports.js';
import { parseLiveInput } from './source/live-input.js';
import { ChildRegistry, childrenDir } from './platform/child-registry.js';
import type { ContentRouter } from './engine/plane/content-router.js';

export interface LiveContentStatus extends Partial<LiveStats> {
  /** Non-chunk bytes ÷ all bytes this node exchanged for the content. */
  controlOverhead?: number | null;
  source?: PublisherStats & { channel: string; uploadFactor: number | null };
  watching?: WatchStats;
  /** A watched protected channel: what the DRM agent lets through to the player, and why (src/drm/live-gate.ts). */
  rights?: unknown;
}

/** The DRM agent's hooks on the live side (src/drm/drm-service.ts); only the player path goes through them. */
export interface LiveDrmHooks {
  sourceTransform(channelId: string, channel: string): ((seq: number, data: Uint8Array) => Uint8Array) | undefined;
  watchStarted(contentId: string): void;
  playerBytes(contentId: string, seq: number, data: Uint8Array): Uint8Array | undefined;
  rightsStatus(contentId: string): unknown;
}

function headless(output: Config['player']['output']): boolean {
  if (output !== 'auto') return output === 'headless';
  return !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY;
}

/**
 * The engine the live side drives: a PeerEngine, or a main node's bridge over its uplink and
 * segment engines (src/segment/bridged-engine.ts).
 */
export type LiveNodeEngine = LiveChannelsEngine & Pick<PeerEngine, 'join' | 'leave'>;

/** What the TV shows: `off` without a player (none configured, or mpv missing). */
export interface TvStatus {
  screen: 'off' | 'idle' | 'playing';
  idle?: IdleScreenStatus;
}

/** How often a channel to watch at start is looked up again while the tracker does not know it. */
const WATCH_RETRY_MS = 2000;

export class LiveNode {
  readonly live: LiveChannels;
  /** The channels this box receives, for phones watching in the web page (src/web/hls-routes.ts). */
  readonly phones: PhoneMedia;
  private closed = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private publisher: LivePublisher | undefined;
  private server: StreamServer | undefined;
  private player: MpvPlayer | undefined;
  private session: WatchSession | undefined;
  private idle: IdleScreen | undefined;
  private tracker: Contact | undefined;
  private webInfo: (() => { url: string; fingerprint?: string } | undefined) | undefined;
  private readonly drm: LiveDrmHooks | undefined;
  /** Set while a file plays on demand on the TV (src/vod-node.ts): ends it before a channel plays. */
  private endOnDemand: (() => Promise<void>) | undefined;

  constructor(
    private readonly cfg: Config,
    private readonly engine: LiveNodeEngine,
    deps: { clock: Clock; random: Random; budgetBytes: number; pickerFor?: (contentId: string) => Picker; drm?: LiveDrmHooks; router?: ContentRouter },
    private readonly log: Logger,
  ) {
    this.drm = deps.drm;
    this.tracker = cfg.tracker ? (parseHostPort(cfg.tracker) as Contact) : undefined;
    this.live = new LiveChannels({
      engine,
      clock: deps.clock,
      random: deps.random,
      config: liveConfigForRole(cfg),
      verifier: new LiveChunkVerifier(),
      budgetBytes: deps.budgetBytes,
      ...(deps.pickerFor ? { pickerFor: deps.pickerFor } : {}),
      ...(deps.router ? { router: deps.router } : {}),
      events: {
        chunkReady: (contentId, chunk) => this.toPlayer(contentId, chunk),
        chunkSkipped: (contentId, id) => this.session?.onSkip(contentId, id),
        badChunk: (contentId, peerId, chunkId, reason) => log.warn({ contentId, peerId, chunkId, reason }, 'bad chunk rejected; peer dropped'),
        playbackStarted: (contentId, firstChunkId) => {
          log.info({ contentId, firstChunkId }, 'playback started');
          this.session?.onPlaybackStarted(contentId);
        },
      },
    });
    // Protected chunks for a phone the owner approved: decrypted by the box's own agent (its rights).
    const drm = deps.drm;
    this.phones = new PhoneMedia(this.live, cfg.live.chunkMs, drm ? (contentId, seq, data) => drm.playerBytes(contentId, seq, data) : undefined);
  }

  /** Starts the configured source and channel; resolves once they are under way. */
  async start(): Promise<void> {
    const src = this.cfg.source;
    if (src.channel) {
      const input = parseLiveInput(src.input, src.loop);
      if (typeof input === 'string') throw new Error(input);
      const keys = loadOrCreateChannelKeys(this.cfg.stateDir, src.channel);
      this.engine.join(keys.channelId, 'live', src.channel);
      this.live.startSource(keys.channelId);
      this.phones.named(keys.channelId, src.channel);
      const transform = this.drm?.sourceTransform(keys.channelId, src.channel);
      const publisher = new LivePublisher({ keys, live: this.live, input, chunkMs: this.cfg.live.chunkMs, log: this.log, ...(transform ? { transform } : {}) });
      this.publisher = publisher;
      publisher.run().catch((err: Error) => this.log.error({ err: err.message, input: src.input }, `live input failed: ${err.message}`));
      this.log.info({ channel: src.channel, contentId: keys.channelId }, 'publishing live channel');
    }
    // The idle screen needs mpv up before anything plays.
    if (this.cfg.player.kind === 'mpv' && this.cfg.player.idleScreen) await this.ensureSession();
    if (this.cfg.watch) this.watchAtStart(this.cfg.watch);
  }

  /** The watched channel's chunks on their way to the player: a protected one passes the DRM agent (a copy; the buffer keeps what relays serve). */
  private toPlayer(contentId: string, chunk: ChunkRecord): void {
    const session = this.session;
    if (!session || session.current()?.contentId !== contentId) return;
    if (!this.drm) return session.onChunk(contentId, chunk);
    const data = this.drm.playerBytes(contentId, chunk.id, chunk.data);
    if (data === undefined) session.onSkip(contentId, chunk.id);
    else session.onChunk(contentId, data === chunk.data ? chunk : { ...chunk, data });
  }

  /** The channel to play at boot may not be announced yet: keep asking until it is. */
  private watchAtStart(channel: string): void {
    let warned = false;
    const attempt = (): void => {
      if (this.closed) return;
      this.play(channel).then(
        () => warned && this.log.info({ channel }, 'channel found; playing'),
        (err: Error) => {
          if (!warned) this.log.warn({ channel, err: err.message }, `cannot play ${channel} yet (${err.message}); retrying every ${WATCH_RETRY_MS / 1000} s`);
          warned = true;
          this.retryTimer = setTimeout(attempt, WATCH_RETRY_MS);
        },
      );
    };
    attempt();
  }

  /** The tracker channel names are resolved at (a local node's discovered local tracker). */
  setTracker(contact: Contact | undefined): void {
    this.tracker = contact ? { ...contact } : undefined;
  }

  /** Switches the TV to a channel (name known to the tracker, or a live id). */
  async play(nameOrId: string): Promise<{ contentId: string; name: string }> {
    const target = this.tracker;
    let info;
    if (isLiveChannelId(nameOrId)) info = { contentId: nameOrId, title: nameOrId };
    else if (target) info = await resolveContent(target, nameOrId, 'live', isLiveChannelId);
    else throw new Error(`cannot resolve channel name ${JSON.stringify(nameOrId)} without a tracker; give its live id`);
    const old = this.session?.current();
    if (old?.contentId === info.contentId) return old;
    if (old) this.leaveViewer(old.contentId);
    const onDemand = this.endOnDemand;
    this.endOnDemand = undefined;
    await onDemand?.();
    this.engine.join(info.contentId, 'live');
    this.live.startViewer(info.contentId);
    this.phones.named(info.contentId, info.title);
    this.drm?.watchStarted(info.contentId);
    const session = await this.ensureSession();
    await this.idle?.setPlaying(true);
    try {
      await session.watch(info.contentId, info.title);
    } catch (err) {
      if (!session.current()) await this.idle?.setPlaying(false); // nothing plays: the idle screen comes back
      throw err;
    }
    return { contentId: info.contentId, name: info.title };
  }

  /** The live channels the tracker lists, and which one the TV shows (the page's channel list). */
  async channels(): Promise<{ channels: Array<{ contentId: string; name: string; playing: boolean; receiving: boolean }>; playing: { contentId: string; name: string } | null }> {
    const cur = this.session?.current();
    const playing = cur ? { contentId: cur.contentId, name: cur.name } : null;
    const target = this.tracker;
    if (!target) throw new Error('no tracker known yet: the channel list comes from the tracker');
    const receiving = new Set(this.live.active().map((a) => a.contentId));
    const listed = (await queryContents(target, '')).filter((c) => c.kind === 'live' && isLiveChannelId(c.contentId));
    const channels = listed
      .map((c) => ({ contentId: c.contentId, name: c.title || c.contentId, playing: c.contentId === cur?.contentId, receiving: receiving.has(c.contentId) }))
      .sort((a, b) => a.name.localeCompare(b.name));
    return { channels, playing };
  }

  /** Stops what the TV shows and leaves that channel (a source keeps publishing). */
  async stopWatching(): Promise<{ stopped: string | null }> {
    const cur = this.session?.current();
    if (!cur) return { stopped: null };
    await this.session?.stop();
    this.leaveViewer(cur.contentId);
    await this.idle?.setPlaying(false);
    return { stopped: cur.contentId };
  }

  /**
   * The TV for a file played on demand (src/vod-node.ts): the channel shown stops; `end` is called
   * before a channel plays again. Resolves with the loopback stream server and the player (none
   * when mpv is missing or not configured).
   */
  async takeScreen(end: () => Promise<void>): Promise<{ server: StreamServer; player: MpvPlayer | undefined }> {
    await this.stopWatching();
    await this.ensureSession();
    this.endOnDemand = end;
    await this.idle?.setPlaying(true);
    return { server: this.server!, player: this.player };
  }

  /** The file played on demand stopped: the idle screen comes back unless a channel plays. */
  async releaseScreen(): Promise<void> {
    this.endOnDemand = undefined;
    if (!this.session?.current()) await this.idle?.setPlaying(false);
  }

  private leaveViewer(contentId: string): void {
    if (this.publisher?.channelId === contentId) return;
    this.live.stop(contentId);
    this.phones.stoppedHere(contentId);
    this.engine.leave(contentId);
  }

  private async ensureSession(): Promise<WatchSession> {
    if (this.session) return this.session;
    const listen = parseHostPort(this.cfg.streamListen) as Contact;
    const server = new StreamServer({ host: listen.host, port: listen.port, onWarning: (w) => this.log.warn(w, w.message) });
    await server.listen();
    this.server = server;
    if (this.cfg.player.kind === 'mpv') this.player = await this.startPlayer();
    this.session = new WatchSession({
      server,
      player: this.player,
      chunkMs: this.cfg.live.chunkMs,
      prebufferMs: this.cfg.live.prebufferMs,
      scheduleOf: (contentId) => this.live.playbackOf(contentId),
      playerBufferMs: this.cfg.player.bufferMs,
      recordFile: this.cfg.record,
      log: this.log,
    });
    if (this.player && this.cfg.player.idleScreen) {
      this.idle = new IdleScreen({ player: this.player, gather: () => this.idleInfo(), log: this.log });
      await this.idle.start();
    }
    return this.session;
  }

  /** What the idle screen shows: this box's name and addresses, the tracker's live channels. */
  private async idleInfo(): Promise<IdleInfo> {
    const name = this.cfg.node.name || hostname();
    const addresses = hostAddresses();
    const web = this.webInfo?.();
    const base = { name, addresses, ...(web ? { web } : {}) };
    const tracker = this.tracker;
    if (!tracker) return { ...base, channels: { error: 'no tracker yet' } };
    try {
      const found = await queryContents(tracker, '', 2000);
      const titles = new Set(found.filter((c) => c.kind === 'live').map((c) => c.title));
      return { ...base, channels: [...titles].sort((a, b) => a.localeCompare(b)) };
    } catch {
      return { ...base, channels: { error: `tracker ${tracker.host}:${tracker.port} did not answer` } };
    }
  }

  /** Where the web page is, for the idle screen (set once the page serves). */
  setWebInfo(info: () => { url: string; fingerprint?: string } | undefined): void {
    this.webInfo = info;
  }

  tvStatus(): TvStatus {
    if (!this.player) return { screen: 'off' };
    const screen = this.session?.current() || this.endOnDemand ? 'playing' : 'idle';
    return this.idle ? { screen, idle: this.idle.status() } : { screen };
  }

  private async startPlayer(): Promise<MpvPlayer | undefined> {
    const p = this.cfg.player;
    const player = new MpvPlayer({
      binary: p.binary,
      headless: headless(p.output),
      // A window (black on a TV) even with nothing to play, for the idle screen to be drawn on.
      extraArgs: p.idleScreen ? ['--force-window=yes', ...p.extraArgs] : p.extraArgs,
      ...(p.ipcSocket ? { socketPath: p.ipcSocket } : {}),
      children: new ChildRegistry(childrenDir(this.cfg.stateDir)),
    });
    player.on('crash', (c) => this.log.error(c, `mpv exited unexpectedly; restarting in ${c.restartInMs} ms`));
    player.on('restarted', (r) => this.log.info(r, 'mpv restarted'));
    player.on('warning', (w) => this.log.warn(w, w.message));
    try {
      await player.start();
      return player;
    } catch (err) {
      const why = err instanceof MpvNotFoundError ? err.message : `mpv did not start: ${(err as Error).message}`;
      this.log.error({ binary: p.binary }, `${why}; the node keeps relaying without a player`);
      await player.close().catch(() => undefined);
      return undefined;
    }
  }

  tick(): void {
    this.live.tick();
  }

  contentStatus(contentId: string): LiveContentStatus | undefined {
    const stats = this.live.stats(contentId);
    if (!stats) return undefined;
    const all = stats.bytesIn + stats.bytesOut;
    const out: LiveContentStatus = { ...stats, controlOverhead: all > 0 ? (stats.controlBytesIn + stats.controlBytesOut) / all : null };
    if (this.publisher?.channelId === contentId) {
      const p = this.publisher.stats();
      out.source = { ...p, channel: this.cfg.source.channel, uploadFactor: p.streamBytes > 0 ? stats.chunkBytesOut / p.streamBytes : null };
    }
    const w = this.session?.stats();
    if (w && w.contentId === contentId) {
      out.watching = w;
      const rights = this.drm?.rightsStatus(contentId);
      if (rights) out.rights = rights;
    }
    return out;
  }

  bufferBytes(): number {
    return this.live.bufferBytes();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retryTimer);
    this.publisher?.stop();
    this.idle?.close();
    await this.session?.stop().catch(() => undefined);
    await this.player?.close().catch(() => undefined);
    await this.server?.close().catch(() => undefined);
  }
}

/**
 * A main node uploads over two links at once, its uplink and its segment (docs/main-node.md), while
 * the send window (engine/send-window.ts) models one shared uplink: paced by the locals' buffer maps on
 * the segment, it held the main node's uploads back and the segment's locals fell to continuity
 * 0.83–0.95 (segment-netns). Main nodes send unwindowed until the window is kept per link.
 */
export function liveConfigForRole(cfg: Pick<Config, 'live' | 'node'>): Config['live'] {
  return cfg.node.role === 'main' ? { ...cfg.live, sendTargetDelayMs: 0 } : cfg.live;
}
