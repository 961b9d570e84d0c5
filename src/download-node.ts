// Composition of the download side of a node, beside LiveNode: the engine's download data plane
// (Downloads) with SHA-256 verification and disk stores, publishing a file (hash it, seed it,
// announce title and size to the tracker) and getting one (resume from `PATH.part.pieces`, or
// re-seed a complete PATH after checking it). Downloads are chained onto the engine's content hook
// in front of whatever data plane was installed before (live channels). Pieces stay on disk; the
// only memory they take is the shared piece cache (download.cacheBytes).
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from './config/schema.js';
import type { DownloadStats } from './engine/download-stats.js';
import type { PhoneFile } from './web/hls-file-routes.js';
import { StorageError, type StorageErrorKind, type StoreOpener } from './engine/download-ports.js';
import { Downloads } from './engine/downloads.js';
import type { DownloadEnginePort } from './engine/download-core.js';
import type { PeerEngine } from './engine/peer-engine.js';
import type { Picker } from './engine/picker.js';
import type { Clock, Random } from './engine/ports.js';
import type { Manifest } from './protocol/manifest.js';
import type { Contact } from './protocol/messages.js';
import type { Logger } from './platform/logger.js';
import { FileStore } from './download/file-store.js';
import { PartLockedError } from './download/part-lock.js';
import { PartMismatchError, PartStore, partPaths } from './download/part-store.js';
import { PieceCache } from './download/piece-cache.js';
import { PieceRecord } from './download/piece-record.js';
import { PieceWaiters } from './download/piece-waiters.js';
import type { PieceReader } from './player/byte-source.js';
import { buildFileManifest, matchingPieces } from './source/file-manifest.js';
import { Sha256Verifier, verifyManifest } from './source/piece-verifier.js';
import { ContentRouter } from './engine/plane/content-router.js';

export interface DownloadContentStatus extends DownloadStats {
  /** Where the file is (or will be), and the title it is listed under. */
  path: string;
  title: string;
}

/** A download ended without a complete file; `kind` tells the caller's exit code. */
export class DownloadFailedError extends Error {
  override name = 'DownloadFailedError';
  constructor(
    readonly kind: StorageErrorKind,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The engine the download side runs on: a box's PeerEngine, or a main node's bridge of its uplink
 * and segment engines (src/segment/bridged-engine.ts), so a file fetched over the uplink is served
 * into the segment while it downloads.
 */
export type DownloadNodeEngine = DownloadEnginePort &
  Pick<PeerEngine, 'join' | 'leave' | 'setContentMessageHandler' | 'setContentInfoSource'>;

interface Entry {
  path: string;
  title: string;
  announce: boolean;
  done?: { resolve: () => void; reject: (e: DownloadFailedError) => void };
}

export class DownloadNode {
  readonly downloads: Downloads;
  readonly cache: PieceCache;
  private readonly entries = new Map<string, Entry>();
  /** Players reading pieces not verified yet (a download played while it downloads). */
  private readonly waiters = new PieceWaiters();
  private nextAnnounceAt = 0;

  constructor(
    private readonly cfg: Config,
    private readonly engine: DownloadNodeEngine,
    private readonly deps: { clock: Clock; random: Random; tracker: Contact | undefined; cacheBytes: number; wrapPicker?: (contentId: string, inner: Picker) => Picker; router?: ContentRouter },
    private readonly log: Logger,
  ) {
    this.cache = new PieceCache(deps.cacheBytes);
    this.downloads = new Downloads({
      engine,
      clock: deps.clock,
      random: deps.random,
      config: cfg.download,
      verifier: new Sha256Verifier(),
      ...(deps.wrapPicker ? { wrapPicker: deps.wrapPicker } : {}),
      events: {
        manifestReady: (contentId, m, from) => log.info({ contentId, name: m.name, sizeBytes: m.sizeBytes, pieces: m.pieceCount, from: from?.peerId }, 'manifest verified'),
        badPiece: (contentId, peerId, index, reason) => log.warn({ contentId, peerId, piece: index, reason }, 'bad piece rejected; peer dropped and blocked'),
        badManifest: (contentId, peerId, reason) => log.warn({ contentId, peerId, reason }, 'bad manifest rejected; peer blocked'),
        pieceStored: (contentId, index) => this.waiters.stored(contentId, index),
        completed: (contentId) => this.onCompleted(contentId),
        failed: (contentId, kind, message) => this.onFailed(contentId, kind, message),
      },
    });
    (deps.router ?? new ContentRouter(engine)).add({ runs: (id) => this.downloads.has(id), receive: (from, msg) => this.downloads.receive(from, msg) });
    engine.setContentInfoSource((contentId) => {
      const e = this.entries.get(contentId);
      const m = this.downloads.manifestOf(contentId);
      if (!e && !m) return undefined;
      return { title: e?.title || m?.name || contentId, sizeBytes: m?.sizeBytes ?? 0 };
    });
  }

  /** Hashes a file and seeds it; the content id is the hash of its manifest. */
  publishFile(input: string, title: string): { contentId: string; manifest: Manifest } {
    const built = buildFileManifest(input, this.cfg.download.pieceBytes);
    const { contentId, manifest, manifestBytes } = built;
    const store = FileStore.open(input, manifest);
    const name = title || manifest.name;
    this.entries.set(contentId, { path: input, title: name, announce: true });
    this.downloads.seed(contentId, manifest, manifestBytes, store);
    this.engine.join(contentId, 'download', name);
    this.announce(contentId);
    this.log.info({ contentId, input, title: name, sizeBytes: manifest.sizeBytes, pieces: manifest.pieceCount, pieceBytes: manifest.pieceBytes }, 'publishing file');
    return { contentId, manifest };
  }

  /**
   * Gets a content into `path`: resumes from `path.part.pieces` when it exists, re-seeds `path` when
   * it is already a complete copy, else starts afresh. Resolves when every piece is verified and the
   * file is final; rejects with DownloadFailedError (disk full, conflict, I/O).
   */
  get(contentId: string, path: string, title = '', tuning: Partial<Config['download']> = {}): Promise<void> {
    if (this.entries.has(contentId)) return Promise.reject(new DownloadFailedError('conflict', `${contentId} is already active here`));
    const paths = partPaths(path);
    let known: { manifest: Manifest; manifestBytes: Uint8Array } | undefined;
    let opener: StoreOpener;
    try {
      if (existsSync(paths.record)) {
        known = this.recordedManifest(contentId, paths.record);
        opener = this.partOpener(contentId, path);
      } else if (existsSync(path)) {
        opener = this.completeFileOpener(contentId, path);
      } else {
        opener = this.partOpener(contentId, path);
      }
    } catch (err) {
      return Promise.reject(err instanceof DownloadFailedError ? err : new DownloadFailedError('io', (err as Error).message));
    }
    const done = new Promise<void>((resolve, reject) => {
      this.entries.set(contentId, { path, title, announce: false, done: { resolve, reject } });
    });
    // (The entry exists before fetch(): a resumed download may complete, or fail, right inside it.)
    this.downloads.fetch(contentId, opener, known, tuning);
    this.engine.join(contentId, 'download');
    return done;
  }

  /**
   * Starts getting a content into `STATE_DIR/downloads/<content id>` in the background (a download
   * played on the TV, or relayed into a main node's segment); resumable and seeded afterwards like any
   * get. Returns the path. Failures are logged with `why`.
   */
  fetchToStateDir(contentId: string, title: string, why: string): string {
    const dir = join(this.cfg.stateDir, 'downloads');
    mkdirSync(dir, { recursive: true });
    const path = join(dir, contentId);
    this.log.info({ contentId, path, title }, why);
    this.get(contentId, path, title).catch((err: Error) => this.log.warn({ contentId, err: err.message }, `${why}: the download ended: ${err.message}`));
    return path;
  }

  /** Sets the title a download is listed under here (status, announces), known after it started. */
  setTitle(contentId: string, title: string): void {
    const e = this.entries.get(contentId);
    if (e) e.title = title;
  }

  tick(): void {
    this.downloads.tick();
    const now = this.deps.clock.now();
    if (now >= this.nextAnnounceAt) {
      this.nextAnnounceAt = now + this.cfg.download.announcePeriodMs;
      for (const [id, e] of this.entries) if (e.announce) this.announce(id);
    }
  }

  contentStatus(contentId: string): DownloadContentStatus | undefined {
    const stats = this.downloads.stats(contentId);
    const e = this.entries.get(contentId);
    if (!stats || !e) return undefined;
    return { ...stats, path: e.path, title: e.title || stats.name || contentId };
  }

  /** A file this box holds, as phones watching on demand see it (src/web/hls-file-routes.ts). */
  file(contentId: string): PhoneFile | undefined {
    const stats = this.downloads.stats(contentId);
    const e = this.entries.get(contentId);
    if (!stats || !e) return undefined;
    const state = stats.state === 'seeding' ? 'complete' : stats.state === 'failed' ? 'failed' : 'downloading';
    return { contentId, title: e.title || stats.name || contentId, path: e.path, state, progress: stats.progress };
  }

  /** Whether this box fetches or seeds the content (started here). */
  active(contentId: string): boolean {
    return this.entries.has(contentId);
  }

  /**
   * The content's pieces for a player reading it while it downloads (undefined until the manifest
   * is known): reads of pieces not verified yet wait for them.
   */
  reader(contentId: string): PieceReader | undefined {
    const m = this.downloads.manifestOf(contentId);
    const store = this.downloads.storeOf(contentId);
    if (!m || !store) return undefined;
    return {
      sizeBytes: m.sizeBytes,
      pieceBytes: m.pieceBytes,
      has: (i) => store.has(i),
      read: (i) => {
        const b = store.read(i);
        return b && Uint8Array.from(b); // the store's bytes may live in a scratch buffer
      },
      waitFor: (i, signal) => {
        if (store.has(i)) return Promise.resolve();
        const st = this.downloads.state(contentId);
        if (st !== 'downloading') return Promise.reject(new Error(`${contentId} is not downloading (${st ?? 'stopped'}): piece ${i} will not come`));
        return this.waiters.wait(contentId, i, signal);
      },
    };
  }

  /** Memory the download side holds (the piece cache). */
  cacheBytes(): number {
    return this.cache.bytes;
  }

  /** Stops fetching or seeding one content and closes its file (the file itself stays). */
  remove(contentId: string): void {
    const e = this.entries.get(contentId);
    this.entries.delete(contentId);
    if (!this.downloads.has(contentId)) return;
    const store = this.downloads.stop(contentId);
    try {
      store?.close();
    } catch (err) {
      this.log.warn({ contentId, err: (err as Error).message }, 'closing a download store failed');
    }
    this.engine.leave(contentId);
    this.waiters.fail(contentId, new Error(`${contentId} was stopped`));
    e?.done?.reject(new DownloadFailedError('conflict', `${contentId} was stopped`));
  }

  /** Records what is verified and closes every file. */
  close(): void {
    for (const id of this.downloads.active()) {
      const store = this.downloads.stop(id);
      try {
        store?.close();
      } catch (err) {
        this.log.warn({ contentId: id, err: (err as Error).message }, 'closing a download store failed');
      }
    }
  }

  // ---- internals --------------------------------------------------------------------------------

  private announce(contentId: string): void {
    const tracker = this.deps.tracker;
    const m = this.downloads.manifestOf(contentId);
    const e = this.entries.get(contentId);
    if (!tracker || !m || !e) return;
    this.engine.send({ contact: tracker }, { type: 'ContentAnnounce', peerId: this.engine.peerId, contentId, kind: 'download', title: e.title, sizeBytes: m.sizeBytes });
  }

  private recordedManifest(contentId: string, recordPath: string): { manifest: Manifest; manifestBytes: Uint8Array } {
    let bytes: Uint8Array;
    try {
      const opened = PieceRecord.open(recordPath);
      opened.record.close();
      bytes = opened.manifestBytes;
    } catch (err) {
      throw new DownloadFailedError('conflict', `${recordPath} cannot be used (${(err as Error).message}); remove it to start afresh`);
    }
    const manifest = verifyManifest(contentId, bytes);
    if (typeof manifest === 'string') {
      throw new DownloadFailedError('conflict', `${recordPath} records another download than ${contentId} (${manifest}); remove it or choose another output path`);
    }
    if ('unreadable' in manifest) throw new DownloadFailedError('unsupported', `${recordPath} records ${contentId} with a manifest this box cannot read (${manifest.unreadable})`);
    return { manifest, manifestBytes: bytes };
  }

  private partOpener(contentId: string, path: string): StoreOpener {
    const c = this.cfg.download;
    return (manifest, manifestBytes) => {
      try {
        const store = PartStore.open({ path, contentId, manifest, manifestBytes, cache: this.cache, flushMs: c.recordFlushMs, recheck: c.recheckOnResume === 1, fsync: c.fsyncPieces === 1 });
        if (store.resumedCount > 0 || store.recheckFailed > 0) {
          this.log.info({ contentId, path, verifiedPieces: store.resumedCount, recheckFailed: store.recheckFailed, pieces: manifest.pieceCount }, 'resuming from recorded pieces');
        }
        return store;
      } catch (err) {
        if (err instanceof PartMismatchError || err instanceof PartLockedError) throw new StorageError('conflict', err.message);
        throw err;
      }
    };
  }

  private completeFileOpener(contentId: string, path: string): StoreOpener {
    return (manifest) => {
      const ok = matchingPieces(path, manifest);
      if (ok !== manifest.pieceCount) {
        throw new StorageError('conflict', `${path} exists and is not a complete copy of ${contentId} (${ok} of ${manifest.pieceCount} pieces match); remove it or choose another output path`);
      }
      this.log.info({ contentId, path }, 'output is already a complete, verified copy; seeding it');
      return FileStore.open(path, manifest, true);
    };
  }

  private onCompleted(contentId: string): void {
    const e = this.entries.get(contentId);
    const stats = this.downloads.stats(contentId);
    this.log.info({ contentId, path: e?.path, completedInMs: stats?.completedInMs, piecesFetched: stats?.piecesFetched, piecesAtStart: stats?.piecesAtStart }, 'download complete; seeding');
    const done = e?.done;
    if (e) e.done = undefined;
    done?.resolve();
  }

  private onFailed(contentId: string, kind: StorageErrorKind, message: string): void {
    const e = this.entries.get(contentId);
    const stats = this.downloads.stats(contentId);
    this.waiters.fail(contentId, new Error(`the download of ${contentId} failed: ${message}`));
    this.log.error({ contentId, kind, verifiedPieces: stats?.piecesVerified, pieces: stats?.pieces }, message);
    // What is verified goes into the record now (the store survives a failed piece write).
    try {
      this.downloads.storeOf(contentId)?.flush();
    } catch (err) {
      this.log.warn({ contentId, err: (err as Error).message }, 'recording verified pieces after the failure failed');
    }
    const done = e?.done;
    if (e) e.done = undefined;
    done?.reject(new DownloadFailedError(kind, message));
  }
}
