// The update agent inside a box (docs/updates.md): builds the boot loader from update.*, watches
// the update channel at the tracker (titles "superdist-update HARDWARE VERSION"), fetches a newer
// bundle as a download content from other boxes (a background download: few requests in flight,
// so what the TV plays keeps the bandwidth), verifies it, and drives the agent from the node's tick.
// Control methods: update.status, update.apply, update.hold.
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config/schema.js';
import type { ControlHandler } from '../control/control-server.js';
import type { DownloadNode } from '../download-node.js';
import { queryContents } from '../net/contents-query.js';
import type { Contact } from '../protocol/messages.js';
import type { Logger } from '../platform/logger.js';
import { FileAgentStore, updateDir } from './agent-store.js';
import type { BootLoader } from './boot-loader.js';
import { boxTrustedKeys, verifyBundle } from './bundle.js';
import { bundleTitle, parseBundleTitle, UPDATE_CHANNEL, UpdateRefusal } from './bundle-format.js';
import { FileBootLoader } from './file-boot-loader.js';
import { hardwareId } from './hardware.js';
import { RpiBootLoader } from './rpi-boot-loader.js';
import { compareVersions } from './semver.js';
import { UpdateAgent, type HealthSample } from './update-agent.js';
import type { UpdateOffer, UpdateStatus } from './update-status.js';

export function bootLoaderFor(cfg: Config): BootLoader {
  const u = cfg.update;
  const rpi = u.bootLoader === 'rpi' || (u.bootLoader === 'auto' && existsSync(join(u.bootDir, 'autoboot.txt')));
  if (rpi) {
    const pair = (p: number[]) => [p[0], p[1]] as [number, number];
    return new RpiBootLoader({ bootDir: u.bootDir, disk: u.disk, partitions: pair(u.slotPartitions), rootPartitions: pair(u.rootPartitions), rebootRequest: u.rebootRequest });
  }
  return new FileBootLoader(u.slotDir || join(updateDir(cfg.stateDir), 'slots'));
}

export interface UpdateServiceDeps {
  cfg: Config;
  downloads: DownloadNode;
  tracker: Contact | undefined;
  /** The tracker answered this box (a health condition). */
  trackerReached: () => boolean;
  binaryVersion: string;
  log: Logger;
  boot?: BootLoader;
}

export class UpdateService {
  readonly agent: UpdateAgent;
  private readonly bundles: string;
  private lastTickAt = 0;
  private ready = false;
  private nextCheckAt = 0;
  private checking = false;
  private stopped = false;
  private readonly trusted: number;

  constructor(private readonly d: UpdateServiceDeps) {
    const u = d.cfg.update;
    const dir = updateDir(d.cfg.stateDir);
    this.bundles = join(dir, 'bundles');
    mkdirSync(this.bundles, { recursive: true, mode: 0o700 });
    const trustedKeys = boxTrustedKeys(u.trustedKeys, d.cfg.stateDir, (m) => d.log.warn(m));
    const hardware = hardwareId(u.hardware);
    const log = d.log;
    this.agent = new UpdateAgent({
      boot: d.boot ?? bootLoaderFor(d.cfg),
      clock: { now: () => Date.now() },
      store: new FileAgentStore(dir),
      binaryVersion: d.binaryVersion,
      hardware,
      auto: u.auto,
      healthWindowMs: u.healthWindowMs,
      log: (level, msg, fields) => log[level](fields ?? {}, msg),
      io: {
        download: (o) => this.fetch(o),
        progress: (o) => this.d.downloads.contentStatus(o.contentId)?.progress ?? null,
        verify: async (path) => {
          const v = await verifyBundle(path, { trustedKeys, hardware, runningVersion: this.agent.runningVersion() });
          return { version: v.manifest.version, image: { path, offset: v.imageOffset, size: v.manifest.imageSize, sha256: v.manifest.imageSha256 } };
        },
        discard: (path) => {
          const id = this.agent.state.offer?.contentId;
          if (id) this.d.downloads.remove(id);
          rmSync(path, { force: true });
        },
        health: (): HealthSample => ({
          daemonReady: this.ready,
          engineTicking: Date.now() - this.lastTickAt < Math.max(1000, 10 * this.d.cfg.tickMs),
          trackerReached: this.d.trackerReached(),
        }),
      },
    });
    this.trusted = trustedKeys.length;
    if (trustedKeys.length === 0) log.warn('no update key is trusted (update.trustedKeys, or enrol with the operator CA): the update channel is not watched');
  }

  /** After the node is up: the agent looks at the slot it booted and resumes. */
  async start(): Promise<void> {
    await this.agent.start();
    this.ready = true;
    const s = this.agent.state;
    // A bundle this box holds complete is seeded to others again (until a newer one is found).
    if (s.offer && s.bundlePath && existsSync(s.bundlePath) && s.phase !== 'downloading') this.seed(s.offer, s.bundlePath);
    this.d.log.info({ phase: s.phase, runningVersion: this.agent.runningVersion(), hardware: this.agent.status().hardware }, 'update agent started');
  }

  stop(): void {
    this.stopped = true;
  }

  /** From the node's tick (the engine just ticked). */
  tick(): void {
    if (this.stopped) return;
    const now = Date.now();
    this.lastTickAt = now;
    if (now >= this.nextCheckAt && !this.checking) {
      this.nextCheckAt = now + this.d.cfg.update.checkPeriodMs;
      void this.check();
    }
    this.agent.advance().catch((err: Error) => this.d.log.error({ err: err.message }, `update agent: ${err.message}`));
  }

  status(): UpdateStatus {
    return this.agent.status(true);
  }

  handlers(): Record<string, ControlHandler> {
    return {
      'update.status': () => this.status(),
      'update.apply': () => {
        this.agent.apply();
        this.nextCheckAt = 0;
        return this.status();
      },
      'update.hold': (p) => {
        this.agent.hold(p.hold !== false);
        return this.status();
      },
    };
  }

  /** Asks the tracker for bundles on the update channel; offers the newest one for this hardware. */
  async check(): Promise<void> {
    const tracker = this.d.tracker;
    // Every bundle would be refused: fetching one would only waste the box's bandwidth.
    if (!tracker || this.trusted === 0) return;
    this.checking = true;
    try {
      const listed = await queryContents(tracker, UPDATE_CHANNEL);
      const hw = this.agent.status().hardware;
      const offers: UpdateOffer[] = [];
      for (const c of listed) {
        const t = c.kind === 'download' ? parseBundleTitle(c.title) : undefined;
        if (t && t.hardware === hw) offers.push({ contentId: c.contentId, version: t.version, hardware: t.hardware, sizeBytes: c.sizeBytes });
      }
      offers.sort((a, b) => compareVersions(b.version, a.version));
      for (const o of offers) if (this.agent.offer(o)) break;
    } catch (err) {
      this.d.log.debug({ err: (err as Error).message }, 'update channel not reachable');
    } finally {
      this.checking = false;
    }
  }

  private pathOf(o: UpdateOffer): string {
    return join(this.bundles, `${o.contentId}.sdu`);
  }

  private async fetch(o: UpdateOffer): Promise<string> {
    const path = this.pathOf(o);
    // Older bundles go: only the one being installed is kept (and seeded).
    for (const f of readdirSync(this.bundles)) {
      if (!f.startsWith(o.contentId)) {
        this.d.downloads.remove(f.split('.')[0] as string);
        rmSync(join(this.bundles, f), { force: true });
      }
    }
    if (this.d.downloads.contentStatus(o.contentId)?.state === 'seeding') return path;
    this.d.downloads.remove(o.contentId);
    await this.d.downloads.get(o.contentId, path, bundleTitle(o), { maxInFlightPerPartner: this.d.cfg.update.maxInFlightPerPartner });
    return path;
  }

  private seed(o: UpdateOffer, path: string): void {
    this.d.downloads.get(o.contentId, path, bundleTitle(o)).catch((err: Error) => {
      if (!(err instanceof UpdateRefusal)) this.d.log.debug({ err: err.message }, 'seeding the update bundle stopped');
    });
  }
}
