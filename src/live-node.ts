// Composition of the live-channel side of a node: the engine's data plane (LiveChannels), the
// source (LivePublisher) when the node publishes, and the TV (WatchSession → StreamServer → mpv)
// when it watches. Channel switching (play/stop) goes through here.
import type { Config } from './config/schema.js';
import { parseHostPort } from './config/address.js';
import { LiveChannels, type LiveChannelsEngine, type LiveStats } from './engine/live-channels.js';
import type { PeerEngine } from './engine/peer-engine.js';
import type { Picker } from './engine/picker.js';
import type { Clock, Random } from './engine/ports.js';
import { resolveContent } from './net/contents-query.js';
import type { Contact } from './protocol/messages.js';
import type { Logger } from './platform/logger.js';
import { MpvNotFoundError, MpvPlayer } from './player/mpv-process.js';
import { StreamServer } from './player/stream-server.js';
import { WatchSession, type WatchStats } from './player/watch-session.js';
import { loadOrCreateChannelKeys } from './source/channel-keys.js';
import { isLiveChannelId } from './source/chunk-signing.js';
import { LiveChunkVerifier } from './source/chunk-verifier.js';
import { LivePublisher, type PublisherStats } from './source/live-publisher.js';
import { parseLiveInput } from './source/live-input.js';

export interface LiveContentStatus extends Partial<LiveStats> {
  /** Non-chunk bytes ÷ all bytes this node exchanged for the content. */
  controlOverhead?: number | null;
  source?: PublisherStats & { channel: string; uploadFactor: number | null };
  watching?: WatchStats;
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

/** How often a channel to watch at start is looked up again while the tracker does not know it. */
const WATCH_RETRY_MS = 2000;

export class LiveNode {
  readonly live: LiveChannels;
  private closed = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private publisher: LivePublisher | undefined;
  private server: StreamServer | undefined;
  private player: MpvPlayer | undefined;
  private session: WatchSession | undefined;
  private tracker: Contact | undefined;

  constructor(
    private readonly cfg: Config,
    private readonly engine: LiveNodeEngine,
    deps: { clock: Clock; random: Random; budgetBytes: number; pickerFor?: (contentId: string) => Picker },
    private readonly log: Logger,
  ) {
    this.tracker = cfg.tracker ? (parseHostPort(cfg.tracker) as Contact) : undefined;
    this.live = new LiveChannels({
      engine,
      clock: deps.clock,
      random: deps.random,
      config: cfg.live,
      verifier: new LiveChunkVerifier(),
      budgetBytes: deps.budgetBytes,
      ...(deps.pickerFor ? { pickerFor: deps.pickerFor } : {}),
      events: {
        chunkReady: (contentId, chunk) => this.session?.onChunk(contentId, chunk),
        chunkSkipped: (contentId, id) => this.session?.onSkip(contentId, id),
        badChunk: (contentId, peerId, chunkId, reason) => log.warn({ contentId, peerId, chunkId, reason }, 'bad chunk rejected; peer dropped'),
        playbackStarted: (contentId, firstChunkId) => log.info({ contentId, firstChunkId }, 'playback started'),
      },
    });
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
      const publisher = new LivePublisher({ keys, live: this.live, input, chunkMs: this.cfg.live.chunkMs, log: this.log });
      this.publisher = publisher;
      publisher.run().catch((err: Error) => this.log.error({ err: err.message, input: src.input }, `live input failed: ${err.message}`));
      this.log.info({ channel: src.channel, contentId: keys.channelId }, 'publishing live channel');
    }
    if (this.cfg.watch) this.watchAtStart(this.cfg.watch);
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
    this.engine.join(info.contentId, 'live');
    this.live.startViewer(info.contentId);
    const session = await this.ensureSession();
    await session.watch(info.contentId, info.title);
    return { contentId: info.contentId, name: info.title };
  }

  /** Stops what the TV shows and leaves that channel (a source keeps publishing). */
  async stopWatching(): Promise<{ stopped: string | null }> {
    const cur = this.session?.current();
    if (!cur) return { stopped: null };
    await this.session?.stop();
    this.leaveViewer(cur.contentId);
    return { stopped: cur.contentId };
  }

  private leaveViewer(contentId: string): void {
    if (this.publisher?.channelId === contentId) return;
    this.live.stop(contentId);
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
      playerBufferMs: this.cfg.player.bufferMs,
      recordFile: this.cfg.record,
      log: this.log,
    });
    return this.session;
  }

  private async startPlayer(): Promise<MpvPlayer | undefined> {
    const p = this.cfg.player;
    const player = new MpvPlayer({
      binary: p.binary,
      headless: headless(p.output),
      extraArgs: p.extraArgs,
      ...(p.ipcSocket ? { socketPath: p.ipcSocket } : {}),
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
    if (w && w.contentId === contentId) out.watching = w;
    return out;
  }

  bufferBytes(): number {
    return this.live.bufferBytes();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retryTimer);
    this.publisher?.stop();
    await this.session?.stop().catch(() => undefined);
    await this.player?.close().catch(() => undefined);
    await this.server?.close().catch(() => undefined);
  }
}
