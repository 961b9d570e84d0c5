// The update agent's state machine (docs/updates.md), sans-IO: the boot loader, the clock, the
// state's storage and the I/O (download, verify, health) are injected.
//
//   idle ─offer─▶ found ─▶ downloading ─▶ verifying ─▶ writing ─reboot(tryboot)─▶ trial-boot
//        ─▶ health-check ─▶ committed            (healthy within update.healthWindowMs)
//                        └▶ rolled-back          (not healthy, or the trial boot fell back)
//
// Every transition is saved (durably) before the step it announces is taken, so a restart at any
// point resumes: a download resumes, a verification or a slot write starts again, a trial boot is
// judged by the slot the box came up in. The committed slot is never written and stays what a
// normal boot starts, so a power cut anywhere leaves a bootable box.
import type { Clock } from '../engine/ports.js';
import { otherSlot, type BootLoader, type Slot, type SlotImage } from './boot-loader.js';
import { compareVersions } from './semver.js';
import type { UpdateOffer, UpdatePhase, UpdateResult, UpdateStatus } from './update-status.js';

export interface AgentState {
  v: 1;
  phase: UpdatePhase;
  offer?: UpdateOffer;
  bundlePath?: string;
  /** The slot written and tried, and the slot the box came from. */
  target?: Slot;
  from?: Slot;
  /** When the tryboot reboot was asked for (set right before it). */
  rebootAt?: number;
  healthSince?: number;
  held: boolean;
  /** Owner's Apply for this content id (update.auto off). */
  approved?: string;
  /** Content ids refused after verification, with the reason: never fetched again. */
  refused: Record<string, string>;
  /** Versions whose trial failed this many times (twice: not tried again). */
  failures: Record<string, number>;
  /** Version in each slot as installed by this agent (the image's own version). */
  slotVersions: Partial<Record<Slot, string>>;
  last?: UpdateResult;
}

export interface AgentStore {
  load(): unknown;
  /** Durable: after it returns, a power cut keeps this state (src/update/agent-store.ts). */
  save(s: AgentState): void;
}

export interface HealthSample {
  daemonReady: boolean;
  engineTicking: boolean;
  trackerReached: boolean;
}

export interface AgentIo {
  /** Fetches the bundle (resumes a partial one); resolves with its path. */
  download(offer: UpdateOffer): Promise<string>;
  /** Progress of the running download, 0..1. */
  progress(offer: UpdateOffer): number | null;
  /** Verifies every byte of the bundle; resolves with the slot image in it, rejects with a refusal. */
  verify(path: string): Promise<{ image: SlotImage; version: string }>;
  /** Throws away a refused bundle file. */
  discard(path: string): void;
  health(): HealthSample;
}

export interface AgentDeps {
  boot: BootLoader;
  clock: Clock;
  store: AgentStore;
  io: AgentIo;
  /** The version this binary reports (a slot installed by the agent reports the bundle's). */
  binaryVersion: string;
  hardware: string;
  auto: boolean;
  healthWindowMs: number;
  log?: (level: 'info' | 'warn', msg: string, fields?: Record<string, unknown>) => void;
}

/** A trial that failed this often for one version is not tried again. */
export const MAX_TRIALS = 2;

function fresh(): AgentState {
  return { v: 1, phase: 'idle', held: false, refused: {}, failures: {}, slotVersions: {} };
}

function loadState(raw: unknown): AgentState {
  if (typeof raw !== 'object' || raw === null || (raw as AgentState).v !== 1) return fresh();
  const s = raw as AgentState;
  return { ...fresh(), ...s, refused: s.refused ?? {}, failures: s.failures ?? {}, slotVersions: s.slotVersions ?? {} };
}

export class UpdateAgent {
  private s: AgentState;
  private current: Slot | null = null;
  private busy = false;
  private download: Promise<string> | undefined;
  private downloaded: { path: string } | { error: string } | undefined;

  constructor(private readonly d: AgentDeps) {
    this.s = loadState(d.store.load());
  }

  get phase(): UpdatePhase {
    return this.s.phase;
  }

  get state(): Readonly<AgentState> {
    return this.s;
  }

  runningVersion(): string {
    return (this.current && this.s.slotVersions[this.current]) || this.d.binaryVersion;
  }

  /** After a (re)boot or a restart: looks at the slot the box came up in and resumes. */
  async start(): Promise<void> {
    this.current = await this.d.boot.currentSlot();
    this.download = undefined;
    this.downloaded = undefined;
    const s = this.s;
    if (s.phase === 'trial-boot' && s.rebootAt === undefined) {
      // The tryboot reboot was never asked for: set the trial up again.
      this.set({ phase: 'writing' });
    } else if (s.phase === 'trial-boot' || s.phase === 'health-check') {
      if (this.current === s.target) {
        if (s.phase === 'trial-boot') this.set({ phase: 'health-check', healthSince: this.d.clock.now() });
        this.log('info', `trial boot into slot ${s.target}: health check`, { version: s.offer?.version });
      } else {
        await this.rollBack(`the box came up in slot ${this.current}, not the trial slot ${s.target} (the trial boot failed or the power was cut)`, false);
      }
    }
  }

  /** A bundle seen on the update channel (the watcher calls this for each one listed). */
  offer(o: UpdateOffer): boolean {
    const s = this.s;
    if (!['idle', 'committed', 'rolled-back'].includes(s.phase)) return false;
    if (o.hardware !== this.d.hardware || s.refused[o.contentId] || (s.failures[o.version] ?? 0) >= MAX_TRIALS) return false;
    if (compareVersions(o.version, this.runningVersion()) <= 0) return false;
    this.log('info', `update ${o.version} found`, { contentId: o.contentId, sizeBytes: o.sizeBytes });
    this.set({ phase: 'found', offer: o, target: undefined, from: undefined, rebootAt: undefined, healthSince: undefined, bundlePath: undefined });
    return true;
  }

  hold(on: boolean): void {
    this.set({ held: on });
  }

  /** The owner's go: lifts a hold and installs the bundle found (update.auto off). */
  apply(): void {
    this.set({ held: false, ...(this.s.offer ? { approved: this.s.offer.contentId } : {}) });
  }

  /** Takes the next step when one can be taken; one step per call (the daemon calls it every tick). */
  async advance(): Promise<void> {
    if (this.busy || this.current === null) return;
    this.busy = true;
    try {
      await this.step();
    } finally {
      this.busy = false;
    }
  }

  status(enabled = true): UpdateStatus {
    const s = this.s;
    return {
      enabled,
      phase: s.phase,
      runningVersion: this.runningVersion(),
      hardware: this.d.hardware,
      bootLoader: this.d.boot.kind,
      currentSlot: this.current,
      held: s.held,
      auto: this.d.auto,
      offer: s.offer ?? null,
      progress: s.phase === 'downloading' && s.offer ? this.d.io.progress(s.offer) : null,
      last: s.last ?? null,
      healthDeadline: s.phase === 'health-check' && s.healthSince !== undefined ? s.healthSince + this.d.healthWindowMs : null,
    };
  }

  // ---- steps ------------------------------------------------------------------------------------

  private async step(): Promise<void> {
    const s = this.s;
    const offer = s.offer;
    switch (s.phase) {
      case 'found':
        if (!offer || s.held || (!this.d.auto && s.approved !== offer.contentId)) return;
        this.set({ phase: 'downloading' });
        return;
      case 'downloading':
        if (!offer) return this.set({ phase: 'idle' });
        if (!this.download) {
          this.downloaded = undefined;
          const p = this.d.io.download(offer);
          this.download = p;
          p.then(
            (path) => (this.downloaded = { path }),
            (err: Error) => (this.downloaded = { error: err.message }),
          );
          return;
        }
        if (!this.downloaded) return;
        this.download = undefined;
        if ('error' in this.downloaded) {
          this.finish('idle', 'failed', `the download failed: ${this.downloaded.error}`);
          return;
        }
        this.set({ phase: 'verifying', bundlePath: this.downloaded.path });
        return;
      case 'verifying':
        if (!offer || !s.bundlePath) return this.set({ phase: 'idle' });
        if (s.held) return; // verified once the hold is released
        try {
          const v = await this.d.io.verify(s.bundlePath);
          this.verified = v.image;
        } catch (err) {
          const reason = (err as Error).message;
          this.d.io.discard(s.bundlePath);
          this.set({ refused: { ...s.refused, [offer.contentId]: reason } });
          this.finish('idle', 'refused', reason);
          return;
        }
        this.set({ phase: 'writing', from: this.current!, target: otherSlot(this.current!) });
        return;
      case 'writing': {
        if (!offer || !s.bundlePath || !s.target) return this.set({ phase: 'idle' });
        if (s.target === this.current) return this.set({ phase: 'verifying' }); // never write the running slot
        const image = this.verified ?? (await this.d.io.verify(s.bundlePath)).image;
        this.verified = undefined;
        this.set({ slotVersions: { ...s.slotVersions, [s.target]: undefined } });
        this.log('info', `writing update ${offer.version} into slot ${s.target}`);
        await this.d.boot.writeInactiveSlot(s.target, image);
        await this.d.boot.setTryboot(s.target);
        this.set({ phase: 'trial-boot', rebootAt: this.d.clock.now() });
        this.log('info', `rebooting into slot ${s.target} once (tryboot)`);
        await this.d.boot.reboot(true);
        // A stand-in boot loader returns: this is the next boot.
        await this.start();
        return;
      }
      case 'health-check': {
        if (!offer || !s.target) return this.set({ phase: 'idle' });
        const h = this.d.io.health();
        if (h.daemonReady && h.engineTicking && h.trackerReached) {
          await this.d.boot.commit(s.target);
          // (The bundle stays: the box seeds it to others until a newer one is found.)
          this.set({ slotVersions: { ...s.slotVersions, [s.target]: offer.version } });
          this.finish('committed', 'committed', `slot ${s.target} runs ${offer.version} and passed the health check`);
          return;
        }
        if (this.d.clock.now() - (s.healthSince ?? 0) > this.d.healthWindowMs) {
          const failed = Object.entries(h).filter(([, ok]) => !ok).map(([k]) => k).join(', ');
          await this.rollBack(`the health check failed within ${this.d.healthWindowMs} ms (${failed})`, true);
        }
        return;
      }
      default:
        return;
    }
  }

  /** The image verified in this run (a restart verifies again before writing). */
  private verified: SlotImage | undefined;

  private async rollBack(reason: string, reboot: boolean): Promise<void> {
    const s = this.s;
    const version = s.offer?.version ?? '?';
    this.set({ failures: { ...s.failures, [version]: (s.failures[version] ?? 0) + 1 } });
    this.finish('rolled-back', 'rolled-back', reason);
    this.log('warn', `update ${version} rolled back: ${reason}`);
    if (reboot) {
      // A normal reboot starts the committed slot (tryboot is one-shot).
      await this.d.boot.reboot(false);
      await this.start();
    }
  }

  private finish(phase: UpdatePhase, result: UpdateResult['result'], reason: string): void {
    const version = this.s.offer?.version ?? '?';
    this.set({ phase, last: { result, version, at: this.d.clock.now(), reason }, rebootAt: undefined, approved: undefined });
    this.log(result === 'committed' ? 'info' : 'warn', `update ${version} ${result}: ${reason}`);
  }

  private set(patch: Partial<AgentState>): void {
    this.s = { ...this.s, ...patch };
    this.d.store.save(this.s);
  }

  private log(level: 'info' | 'warn', msg: string, fields: Record<string, unknown> = {}): void {
    this.d.log?.(level, msg, fields);
  }
}
