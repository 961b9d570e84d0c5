// The update agent's state machine with an injected boot loader, clock and storage: a healthy
// trial boot is committed, an unhealthy one (or one that never comes up) rolls back, and a power
// cut at every step leaves the box booting a good slot and then finishing the update.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { BootLoader, Slot, SlotImage } from '../../src/update/boot-loader.js';
import { UpdateAgent, MAX_TRIALS, type AgentState, type HealthSample } from '../../src/update/update-agent.js';
import type { UpdateOffer } from '../../src/update/update-status.js';
import { FileAgentStore } from '../../src/update/agent-store.js';
import { FileBootLoader } from '../../src/update/file-boot-loader.js';
import { autobootText, committedPartition, RpiBootLoader } from '../../src/update/rpi-boot-loader.js';

class PowerCut extends Error {}

/** A Raspberry-Pi-like board: two slots, autoboot's committed and tryboot slots, the one-shot tryboot flag. */
class Board {
  slots: Record<Slot, string> = { A: 'good:1.0.0', B: 'empty' };
  committed: Slot = 'A';
  trySlot: Slot | null = null;
  armed = false;
  current: Slot = 'A';
  /** Boots the trial slot into a crash (the firmware falls back on the next boot). */
  trialCrashes = false;
  ops = 0;
  cutAt = Infinity;

  step(): void {
    if (++this.ops === this.cutAt) throw new PowerCut(`power cut at operation ${this.ops}`);
  }

  /** What the firmware does at power-on (or at a reboot). */
  powerOn(): Slot {
    let s = this.armed && this.trySlot ? this.trySlot : this.committed;
    this.armed = false;
    if (s !== this.committed && this.trialCrashes) s = this.committed; // watchdog reset: normal boot
    this.current = s;
    return s;
  }

  bootable(): boolean {
    return this.slots[this.current].startsWith('good:');
  }

  loader(): BootLoader {
    return {
      kind: 'test board',
      currentSlot: async () => this.current,
      committedSlot: async () => this.committed,
      writeInactiveSlot: async (slot: Slot, image: SlotImage) => {
        expect(slot, 'the running slot is never written').not.toBe(this.current);
        this.slots[slot] = 'partial';
        this.step();
        this.slots[slot] = `good:${image.sha256}`;
      },
      setTryboot: async (slot) => {
        this.step();
        this.trySlot = slot;
      },
      reboot: async (tryboot) => {
        this.step();
        this.armed = tryboot;
        this.powerOn();
      },
      commit: async (slot) => {
        this.step();
        this.committed = slot;
      },
    };
  }
}

class MemStore {
  saved: unknown;
  constructor(private readonly board: Board) {}
  load(): unknown {
    return this.saved === undefined ? undefined : JSON.parse(JSON.stringify(this.saved));
  }
  save(s: AgentState): void {
    this.board.step(); // a cut before the rename keeps the old state
    this.saved = JSON.parse(JSON.stringify(s));
  }
}

const OFFER: UpdateOffer = { contentId: 'dl-new', version: '1.1.0', hardware: 'hw1', sizeBytes: 1000 };

function system(opts: { health?: HealthSample; auto?: boolean; refuse?: string } = {}) {
  const board = new Board();
  const store = new MemStore(board);
  const clock = { t: 1_000_000, now() { return this.t; } };
  let health: HealthSample = opts.health ?? { daemonReady: true, engineTicking: true, trackerReached: true };
  const discarded: string[] = [];
  const make = () =>
    new UpdateAgent({
      boot: board.loader(),
      clock,
      store,
      binaryVersion: '1.0.0',
      hardware: 'hw1',
      auto: opts.auto ?? true,
      healthWindowMs: 60_000,
      io: {
        download: async () => '/bundles/new.sdu',
        progress: () => 0.5,
        verify: async (path) => {
          if (opts.refuse) throw new Error(opts.refuse);
          return { version: '1.1.0', image: { path, offset: 100, size: 1000, sha256: 'new-image' } };
        },
        discard: (p) => void discarded.push(p),
        health: () => health,
      },
    });
  return { board, store, clock, make, discarded, setHealth: (h: HealthSample) => (health = h) };
}

/** Advances until nothing changes any more (or `limit` steps). */
async function drive(agent: UpdateAgent, limit = 40): Promise<void> {
  for (let i = 0; i < limit; i++) {
    const before = JSON.stringify(agent.state);
    await agent.advance();
    await new Promise((r) => setImmediate(r));
    if (JSON.stringify(agent.state) === before && i > 2) {
      await agent.advance();
      if (JSON.stringify(agent.state) === before) return;
    }
  }
}

describe('update agent', () => {
  it('a healthy trial boot is committed: the new slot becomes the one every boot uses', async () => {
    const sys = system();
    const agent = sys.make();
    await agent.start();
    expect(agent.offer(OFFER)).toBe(true);
    await drive(agent);
    expect(agent.phase).toBe('committed');
    expect(sys.board.committed).toBe('B');
    expect(sys.board.current).toBe('B');
    expect(sys.board.slots.B).toBe('good:new-image');
    expect(agent.runningVersion()).toBe('1.1.0');
    expect(agent.status().last).toMatchObject({ result: 'committed', version: '1.1.0' });
    // The same bundle is not offered again: it is not newer than what runs.
    expect(agent.offer(OFFER)).toBe(false);
    expect(sys.discarded, 'a committed bundle stays to be seeded').toEqual([]);
  });

  it('a trial boot that fails its health check within the window rolls back to the old slot', async () => {
    const sys = system({ health: { daemonReady: true, engineTicking: true, trackerReached: false } });
    const agent = sys.make();
    await agent.start();
    agent.offer(OFFER);
    await drive(agent);
    expect(agent.phase).toBe('health-check');
    expect(sys.board.current).toBe('B');
    expect(agent.status().healthDeadline).toBe(sys.clock.t + 60_000);
    sys.clock.t += 59_000;
    await drive(agent);
    expect(agent.phase, 'still inside the window').toBe('health-check');
    sys.clock.t += 2_000;
    await drive(agent);
    expect(agent.phase).toBe('rolled-back');
    expect(sys.board.current).toBe('A');
    expect(sys.board.committed).toBe('A');
    expect(sys.board.bootable()).toBe(true);
    expect(agent.status().last?.reason).toMatch(/trackerReached/);
    expect(agent.runningVersion()).toBe('1.0.0');
    // Tried again once more, then never again.
    for (let i = 1; i < MAX_TRIALS; i++) {
      expect(agent.offer(OFFER)).toBe(true);
      await drive(agent);
      sys.clock.t += 61_000;
      await drive(agent);
      expect(agent.phase).toBe('rolled-back');
    }
    expect(agent.offer(OFFER)).toBe(false);
  });

  it('a trial boot that never comes up in the new slot (the firmware falls back) is rolled back', async () => {
    const sys = system();
    sys.board.trialCrashes = true;
    const agent = sys.make();
    await agent.start();
    agent.offer(OFFER);
    await drive(agent);
    expect(agent.phase).toBe('rolled-back');
    expect(sys.board.current).toBe('A');
    expect(sys.board.committed).toBe('A');
    expect(agent.status().last?.reason).toMatch(/came up in slot A, not the trial slot B/);
  });

  it('a power cut at every step leaves a bootable slot, and the update completes after power returns', async () => {
    let cuts = 0;
    for (let k = 1; ; k++) {
      const sys = system();
      sys.board.cutAt = k;
      let agent = sys.make();
      let cut = false;
      try {
        await agent.start();
        agent.offer(OFFER);
        await drive(agent);
      } catch (err) {
        if (!(err instanceof PowerCut)) throw err;
        cut = true;
      }
      if (!cut) {
        expect(agent.phase).toBe('committed');
        break;
      }
      cuts++;
      // Power returns: the firmware boots, the service starts the agent again from its saved state.
      sys.board.powerOn();
      expect(sys.board.bootable(), `after a cut at operation ${k} the box boots a good slot (${sys.board.current}: ${sys.board.slots[sys.board.current]})`).toBe(true);
      expect(sys.board.slots[sys.board.committed], `cut at ${k}: the committed slot is good`).toMatch(/^good:/);
      agent = sys.make();
      await agent.start();
      // The watcher lists the bundle again (it does after every start).
      agent.offer(OFFER);
      await drive(agent);
      // Either it finished, or (a cut right before the trial reboot) it rolled back and tries once more.
      if (agent.phase === 'rolled-back') {
        expect(agent.offer(OFFER), `cut at ${k}: retried after a rollback`).toBe(true);
        await drive(agent);
      }
      expect(agent.phase, `cut at ${k}`).toBe('committed');
      expect(sys.board.committed).toBe('B');
      expect(sys.board.slots.B).toBe('good:new-image');
      expect(sys.board.bootable()).toBe(true);
    }
    expect(cuts).toBeGreaterThanOrEqual(10);
  });

  it('a refused bundle is never fetched again; hold and update.auto off wait for the owner', async () => {
    const refused = system({ refuse: 'refused (bad-signature): altered' });
    const a = refused.make();
    await a.start();
    a.offer(OFFER);
    await drive(a);
    expect(a.phase).toBe('idle');
    expect(a.status().last).toMatchObject({ result: 'refused', reason: 'refused (bad-signature): altered' });
    expect(refused.board.slots.B).toBe('empty');
    expect(refused.discarded).toEqual(['/bundles/new.sdu']);
    expect(a.offer(OFFER)).toBe(false);

    const manual = system({ auto: false });
    const m = manual.make();
    await m.start();
    expect(m.offer({ ...OFFER, version: '0.9.0' }), 'older than what runs').toBe(false);
    expect(m.offer({ ...OFFER, hardware: 'hw2' }), 'other hardware').toBe(false);
    m.offer(OFFER);
    await drive(m);
    expect(m.phase).toBe('found');
    m.hold(true);
    m.apply();
    expect(m.status().held).toBe(false);
    await drive(m);
    expect(m.phase).toBe('committed');

    const held = system();
    const h = held.make();
    await h.start();
    h.hold(true);
    h.offer(OFFER);
    await drive(h);
    expect(h.phase).toBe('found');
    h.hold(false);
    await drive(h);
    expect(h.phase).toBe('committed');
  });
});

describe('boot loaders', () => {
  it('file-backed: the slot file holds the image byte for byte; tryboot is one-shot; commit sticks; the agent state survives a restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sd-update-fbl-'));
    const bundle = join(dir, 'b.sdu');
    const image = Buffer.alloc(3 * 1024 * 1024 + 7, 0x5a);
    image[12345] = 1;
    writeFileSync(bundle, Buffer.concat([Buffer.from('HEADER'), image]));
    const sha256 = createHash('sha256').update(image).digest('hex');
    const boot = new FileBootLoader(join(dir, 'slots'));
    expect(await boot.currentSlot()).toBe('A');
    await expect(boot.writeInactiveSlot('A', { path: bundle, offset: 6, size: image.length, sha256 })).rejects.toThrow(/running slot/);
    await boot.writeInactiveSlot('B', { path: bundle, offset: 6, size: image.length, sha256 });
    expect(readFileSync(boot.slotFile('B')).equals(image)).toBe(true);
    await expect(boot.writeInactiveSlot('B', { path: bundle, offset: 6, size: image.length, sha256: '0'.repeat(64) })).rejects.toThrow(/read back SHA-256/);
    await boot.setTryboot('B');
    await boot.reboot(true);
    expect(await boot.currentSlot()).toBe('B');
    await boot.reboot(false);
    expect(await boot.currentSlot(), 'tryboot is one-shot').toBe('A');
    await boot.commit('B');
    await boot.reboot(false);
    expect(await boot.currentSlot()).toBe('B');

    const store = new FileAgentStore(join(dir, 'update'));
    expect(store.load()).toBeUndefined();
    store.save({ v: 1, phase: 'writing', held: false, refused: {}, failures: {}, slotVersions: { A: '1.0.0' } });
    expect(new FileAgentStore(join(dir, 'update')).load()).toMatchObject({ phase: 'writing', slotVersions: { A: '1.0.0' } });
  });

  it('raspberry pi: autoboot.txt with tryboot_a_b=1 names the committed and the trial slot; a slot image fills the boot then the root partition; reboot asks for tryboot', async () => {
    expect(autobootText([2, 3], 'A')).toBe('[all]\ntryboot_a_b=1\nboot_partition=2\n[tryboot]\nboot_partition=3\n');
    expect(committedPartition(autobootText([2, 3], 'B'))).toBe(3);
    const dir = mkdtempSync(join(tmpdir(), 'sd-update-rpi-'));
    writeFileSync(join(dir, 'autoboot.txt'), autobootText([2, 3], 'A'));
    // Files stand in for the partitions: boot 2/3 of 1 KiB, root 5/6 of 4 KiB.
    for (const n of [2, 3]) writeFileSync(join(dir, `disk${n}`), Buffer.alloc(1024));
    for (const n of [5, 6]) writeFileSync(join(dir, `disk${n}`), Buffer.alloc(4096, 0xee));
    const part = Buffer.alloc(4);
    part.writeUInt32BE(2);
    writeFileSync(join(dir, 'partition'), part);
    const calls: string[][] = [];
    const opts = { bootDir: dir, disk: join(dir, 'disk'), partitions: [2, 3] as [number, number], rootPartitions: [5, 6] as [number, number], bootPartitionFile: join(dir, 'partition'), run: async (c: string, a: string[]) => void calls.push([c, ...a]) };
    const pi = new RpiBootLoader(opts);
    expect(await pi.currentSlot()).toBe('A');
    expect(await pi.committedSlot()).toBe('A');
    const slotImage = Buffer.concat([Buffer.alloc(1024, 0xb0), Buffer.alloc(3000, 0x70)]);
    const img = join(dir, 'img');
    writeFileSync(img, Buffer.concat([Buffer.from('HDR'), slotImage]));
    const sha256 = createHash('sha256').update(slotImage).digest('hex');
    await expect(pi.writeInactiveSlot('A', { path: img, offset: 3, size: slotImage.length, sha256 })).rejects.toThrow(/running slot/);
    await pi.writeInactiveSlot('B', { path: img, offset: 3, size: slotImage.length, sha256 });
    expect(readFileSync(join(dir, 'disk3')).equals(Buffer.alloc(1024, 0xb0)), 'boot partition of slot B').toBe(true);
    const root = readFileSync(join(dir, 'disk6'));
    expect(root.subarray(0, 3000).equals(Buffer.alloc(3000, 0x70)), 'root partition of slot B').toBe(true);
    expect(root.length, 'a partition is written in place, not cut').toBe(4096);
    expect(readFileSync(join(dir, 'disk5')).equals(Buffer.alloc(4096, 0xee)), 'slot A untouched').toBe(true);
    await expect(pi.writeInactiveSlot('B', { path: img, offset: 3, size: 1000, sha256 }), 'shorter than the boot partition').rejects.toThrow(/not longer than the boot partition/);
    await pi.setTryboot('B');
    expect(readFileSync(join(dir, 'autoboot.txt'), 'utf8')).toBe(autobootText([2, 3], 'A', 'B'));
    void pi.reboot(true);
    await new Promise((r) => setImmediate(r));
    expect(calls).toEqual([['systemctl', 'reboot', '0 tryboot']]);
    // Under the hardened unit the reboot is asked of a privileged path unit through a file.
    const viaFile = new RpiBootLoader({ ...opts, rebootRequest: join(dir, 'reboot-request') });
    void viaFile.reboot(true);
    await new Promise((r) => setImmediate(r));
    expect(readFileSync(join(dir, 'reboot-request'), 'utf8')).toBe('0 tryboot\n');
    await pi.commit('B');
    expect(await pi.committedSlot()).toBe('B');
  });
});
