// A download on the TV while it downloads (docs/downloads.md "Playing while it downloads"):
// `play dl-…` starts the download when this box does not fetch or seed it yet (into
// STATE_DIR/downloads/<content id>, resumable like any `get`), takes the TV from the live side,
// and serves the file to mpv on the loopback stream server with byte ranges (VodSession). Reads
// move the download's playback window (the on-demand picker) and wait for missing pieces. A
// superdist container (.sdc, found by its magic) goes through the DRM agent on the way
// (ProtectedByteSource): decrypted with rights, the clear preview only without. `drm play FILE.sdc`
// plays a local protected file the same way (control API `play {file}`).
import { basename } from 'node:path';
import type { ControlHandler } from './control/control-server.js';
import type { DownloadNode } from './download-node.js';
import type { DrmAgent } from './drm/drm-agent.js';
import { isContainer, ProtectedByteSource, type ProtectedRights } from './drm/protected-source.js';
import type { LiveNode } from './live-node.js';
import type { Logger } from './platform/logger.js';
import { queryContents } from './net/contents-query.js';
import type { Contact } from './protocol/messages.js';
import { FileByteSource, PieceByteSource, type ByteSource, type PieceReader } from './player/byte-source.js';
import { SPAN_PROBE_BYTES } from './source/ts-span.js';
import { VodSession, type TellDuration, type VodStats } from './player/vod-session.js';

const DOWNLOAD_ID = /^dl-[0-9a-f]{64}$/;
/** `play` answers within this (the CLI waits 15 s): the manifest and the first piece must have come. */
const START_TIMEOUT_MS = 12_000;
/** How often the start looks for the manifest (a cheap check; the first frame waits on it). */
const POLL_MS = 10;

export interface VodStatus extends VodStats {
  download: { state: string; progress: number; path: string } | null;
  /** A protected file: what the DRM agent decided. */
  rights?: ProtectedRights;
}

interface Current {
  contentId: string;
  title: string;
  session: VodSession;
  abort: AbortController;
  source: ByteSource | undefined;
  ended: () => void;
}

/** What `play` answers: what plays, where the player reads it, and for a protected file what the DRM agent decided. */
export interface VodPlaying {
  contentId: string;
  name: string;
  url: string | null;
  /** Bytes the player can read (a protected file without rights: its preview). */
  sizeBytes: number;
  protected?: { contentId: string; rights: ProtectedRights; chunks: number; previewChunks: number };
}

function contentType(name: string): string {
  const ext = /\.([A-Za-z0-9]+)$/.exec(name)?.[1]?.toLowerCase();
  return ({ ts: 'video/mp2t', m2ts: 'video/mp2t', mp4: 'video/mp4', m4v: 'video/mp4', mkv: 'video/x-matroska', webm: 'video/webm' } as Record<string, string>)[ext ?? ''] ?? 'application/octet-stream';
}

export class VodNode {
  private cur: Current | undefined;

  constructor(
    private readonly o: { downloads: DownloadNode; live: LiveNode; agent: DrmAgent | undefined; stateDir: string; tracker: Contact | undefined; log: Logger; prebufferMs: number },
  ) {}

  /** `play` and `stop` of the control API, with download ids handled here and the rest by `base`. */
  handlers(base: Record<string, ControlHandler>): Record<string, ControlHandler> {
    return {
      play: async (p) => {
        if (typeof p.file === 'string' && p.file) return { playing: await this.playFile(p.file) };
        return typeof p.channel === 'string' && p.channel.startsWith('dl-') ? { playing: await this.play(p.channel) } : base.play!(p);
      },
      stop: async (p) => (this.cur ? this.stop() : base.stop!(p)),
    };
  }

  async play(contentId: string): Promise<VodPlaying> {
    if (!DOWNLOAD_ID.test(contentId)) throw new Error(`${JSON.stringify(contentId)} is not a download id (dl- and 64 hex digits)`);
    if (this.cur?.contentId === contentId) return this.playing(this.cur);
    const requestedAt = Date.now();
    await this.stop();
    const { downloads } = this.o;
    const deadline = requestedAt + START_TIMEOUT_MS;
    // The download starts at once; the title the tracker lists it under is asked for meanwhile.
    let listed: Promise<void> | undefined;
    if (!downloads.active(contentId)) {
      downloads.fetchToStateDir(contentId, '', 'downloading to play');
      listed = this.listedTitle(contentId).then((title) => {
        if (title) downloads.setTitle(contentId, title);
      });
    }
    // Told the film's duration, mpv reads only its last piece before the first frame, or nothing when
    // the manifest has the duration (told-duration.ts).
    downloads.downloads.setPlayTail(contentId, SPAN_PROBE_BYTES, 0);
    downloads.downloads.setPlayhead(contentId, 0, 0);
    const reader = await this.manifest(contentId, deadline);
    this.o.log.debug({ contentId, atMs: Date.now() - requestedAt }, 'manifest in hand');
    await listed;
    const durationMs = downloads.downloads.manifestOf(contentId)?.durationMs;
    const title = downloads.contentStatus(contentId)?.title || contentId;
    const name = downloads.contentStatus(contentId)?.name ?? '';
    return this.start(contentId, title, deadline, {
      requestedAt,
      onPlayhead: (i, rate, aheadMs) => downloads.downloads.setPlayhead(contentId, i, rate, aheadMs),
      tellDuration: { ...(durationMs !== undefined ? { durationS: durationMs / 1000 } : {}), onTail: (bytes) => downloads.downloads.setPlayTail(contentId, bytes) },
      base: (session) => new PieceByteSource(reader, contentType(name), session.hooks),
      ended: () => downloads.downloads.clearPlayhead(contentId),
    });
  }

  /**
   * Plays a local file on the TV (`drm play FILE.sdc`): a protected file through the DRM agent
   * (decrypted with rights, its preview without), any other as it is. Nothing is written anywhere.
   */
  async playFile(path: string): Promise<VodPlaying> {
    await this.stop();
    const file = FileByteSource.open(path, contentType(path));
    const name = basename(path);
    return this.start(`file-${name}`, name, Date.now() + START_TIMEOUT_MS, { base: () => file, ended: () => file.close() }).catch((err: Error) => {
      file.close();
      throw err;
    });
  }

  private async start(contentId: string, title: string, deadline: number, o: { requestedAt?: number; base: (s: VodSession) => ByteSource; onPlayhead?: (index: number, rateBps: number, aheadMs: number | undefined) => void; tellDuration?: TellDuration; ended: () => void }): Promise<VodPlaying> {
    const { log } = this.o;
    const abort = new AbortController();
    const screen = await this.o.live.takeScreen(async () => void (await this.stop()));
    const session = new VodSession({ ...screen, contentId, title, log, prebufferMs: this.o.prebufferMs, ...(o.requestedAt !== undefined ? { requestedAt: o.requestedAt } : {}), ...(o.onPlayhead ? { onPlayhead: o.onPlayhead } : {}) });
    const cur: Current = { contentId, title, session, abort, source: undefined, ended: o.ended };
    this.cur = cur;
    // Stopped, or the start took too long (AbortSignal.any is missing before Node 20.3).
    const startAbort = new AbortController();
    const timer = setTimeout(() => startAbort.abort(), Math.max(1, deadline - Date.now()));
    abort.signal.addEventListener('abort', () => startAbort.abort(), { once: true });
    try {
      const base = o.base(session);
      const signal = startAbort.signal;
      const first = await base.read(0, 4, signal).catch((err: Error) => {
        throw new Error(abort.signal.aborted ? `playing ${contentId} was stopped` : `the first piece of ${contentId} did not arrive within ${START_TIMEOUT_MS / 1000} s (${err.message})`);
      });
      let source: ByteSource = base;
      if (isContainer(first)) {
        if (!this.o.agent) throw new Error(`${title} is a protected file and this box has no DRM agent`);
        source = await ProtectedByteSource.open(base, this.o.agent, title, signal);
      }
      cur.source = source;
      // A protected file is not read at its end for the duration (a preview ends before it).
      const tell = source === base ? o.tellDuration : undefined;
      if (!tell) o.tellDuration?.onTail(undefined);
      await session.start(source, tell);
      log.info({ contentId, title, url: session.stats().url, rights: (source as Partial<ProtectedByteSource>).rights?.state }, 'playing on demand on the TV');
    } catch (err) {
      if (this.cur === cur) await this.stop();
      throw err;
    } finally {
      clearTimeout(timer);
    }
    return this.playing(cur);
  }

  private playing(c: Current): VodPlaying {
    const p = c.source instanceof ProtectedByteSource ? c.source : undefined;
    return {
      contentId: c.contentId,
      name: c.title,
      url: c.session.stats().url,
      sizeBytes: c.source?.sizeBytes ?? 0,
      ...(p ? { protected: { contentId: p.header.contentId, rights: p.rights, chunks: p.chunks, previewChunks: p.header.previewChunks } } : {}),
    };
  }

  async stop(): Promise<{ stopped: string | null }> {
    const c = this.cur;
    if (!c) return { stopped: null };
    this.cur = undefined;
    c.abort.abort();
    await c.session.stop();
    c.ended();
    await this.o.live.releaseScreen();
    return { stopped: c.contentId };
  }

  status(): VodStatus | null {
    const c = this.cur;
    if (!c) return null;
    const d = this.o.downloads.contentStatus(c.contentId);
    const rights = c.source instanceof ProtectedByteSource ? c.source.rights : undefined;
    return { ...c.session.stats(), download: d ? { state: d.state, progress: d.progress, path: d.path } : null, ...(rights ? { rights } : {}) };
  }

  /** The title the tracker lists the content under ('' when it does not answer in time). */
  private async listedTitle(contentId: string): Promise<string> {
    if (!this.o.tracker) return '';
    const found = await queryContents(this.o.tracker, contentId, 2000).catch(() => []);
    return found.find((c) => c.contentId === contentId)?.title ?? '';
  }

  /** Waits for the manifest (and the store): the file's size and pieces. */
  private async manifest(contentId: string, deadline: number): Promise<PieceReader> {
    for (;;) {
      const r = this.o.downloads.reader(contentId);
      if (r) return r;
      const st = this.o.downloads.contentStatus(contentId);
      if (st?.state === 'failed') throw new Error(`the download of ${contentId} failed: ${st.error?.message ?? 'unknown error'}`);
      if (Date.now() >= deadline) throw new Error(`no manifest for ${contentId} within ${START_TIMEOUT_MS / 1000} s: no member of it answered (is it published, and is the tracker reachable?)`);
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  }

  async close(): Promise<void> {
    await this.stop();
  }
}
