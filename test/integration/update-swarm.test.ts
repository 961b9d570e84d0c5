// Firmware updates over the swarm: the operator builds a signed bundle of a 24 MiB slot image and
// publishes it on the update channel (a seed paced to 80 Mbit/s), plus a tampered bundle of a newer
// version. Three boxes (their own state and a file standing in for each slot) find both on the
// tracker, fetch the tampered one and refuse it, then fetch the good one from each other, write
// it into their inactive slot, trial-boot into it and commit after the health check. The seed
// uploads about one copy; every slot file is the image byte for byte.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BUNDLE, killAll, startProc, status, tempDir, waitFor, waitUp, type Proc } from '../support/processes.js';
import { downloadStatus, makeRandomFile, sha256File, startTracker } from '../support/downloads.js';
import { readBundleHeader } from '../../src/update/bundle-format.js';

const IMAGE_BYTES = 24 * 1024 * 1024 + 4321;
const BOXES = 3;
const HARDWARE = 'test-box';

const procs: Proc[] = [];
afterAll(() => killAll(procs));

const cli = (...args: string[]) => execFileSync(process.execPath, [BUNDLE, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();

async function publishBundle(dir: string, name: string, tracker: string, bundle: string): Promise<{ proc: Proc; id: string }> {
  const proc = startProc(name, dir, ['update', 'publish', '--tracker', tracker, '--input', bundle, '--listen', '127.0.0.1:0', '--log-level', 'warn', '--set', 'download.uploadBps=10000000']);
  procs.push(proc);
  const id = await waitFor(`${name} content id`, 30_000, async () => proc.output().split('\n').find((l) => /^dl-[0-9a-f]{64}$/.test(l)), (v) => v.length > 0);
  return { proc, id };
}

describe('update swarm: a signed bundle travels box to box and is installed through a trial boot', () => {
  it('three boxes refuse a tampered bundle, then fetch the good one from each other and commit it; the seed uploads about one copy', async () => {
    const dir = tempDir('sd-update-swarm-');
    const image = join(dir, 'slot.img');
    makeRandomFile(image, IMAGE_BYTES);
    const imageSha = sha256File(image);
    const key = join(dir, 'update.key');
    const pub = cli('update', 'key', '--out', key);
    const good = join(dir, 'good.sdu');
    cli('update', 'build', '--image', image, '--version', '99.0.0', '--hardware', HARDWARE, '--key', key, '-o', good);
    // A newer bundle whose image was altered after signing: every box must refuse it.
    const bad = join(dir, 'bad.sdu');
    cli('update', 'build', '--image', image, '--version', '99.1.0', '--hardware', HARDWARE, '--key', key, '-o', bad);
    const bytes = readFileSync(bad);
    const at = readBundleHeader(bad).imageOffset + 1_000_000;
    bytes[at] = (bytes[at] as number) ^ 0xff;
    writeFileSync(bad, bytes);
    expect(() => cli('update', 'verify', bad, '--trust', pub, '--hardware', HARDWARE)).toThrow(/refused \(bad-image\)/);
    const bundleBytes = readFileSync(good).length;

    const tracker = await startTracker(dir, procs);
    const seed = await publishBundle(dir, 'operator', tracker, good);
    const badSeed = await publishBundle(dir, 'tamperer', tracker, bad);
    const listed = cli('search', 'superdist-update', '--tracker', tracker);
    expect(listed).toContain(`superdist-update ${HARDWARE} 99.0.0`);
    expect(listed).toContain(`superdist-update ${HARDWARE} 99.1.0`);

    const boxes: Proc[] = [];
    for (let i = 0; i < BOXES; i++) {
      const box = startProc(`box${i}`, dir, [
        'node', '--tracker', tracker, '--listen', '127.0.0.1:0', '--log-level', 'warn',
        '--set', 'player.kind=none',
        '--set', 'update.enabled=true',
        '--set', `update.hardware=${HARDWARE}`,
        '--set', `update.trustedKeys=${JSON.stringify([pub])}`,
        '--set', 'update.bootLoader=file',
        '--set', 'update.checkPeriodMs=1000',
        '--set', 'update.healthWindowMs=60000',
      ]);
      procs.push(box);
      boxes.push(box);
    }
    await Promise.all(boxes.map((b) => waitUp(b)));
    const startedAt = Date.now();
    const finals = await waitFor('every box committed 99.0.0', 110_000, async () => {
      const ss = await Promise.all(boxes.map((b) => status(b)));
      return ss.every((s) => s?.update?.phase === 'committed') ? ss : undefined;
    }, () => true, { everyMs: 250 });
    const elapsedS = (Date.now() - startedAt) / 1000;
    const seedOut = (await downloadStatus(seed.proc.control))?.pieceBytesOut ?? NaN;
    const badOut = (await downloadStatus(badSeed.proc.control))?.pieceBytesOut ?? NaN;
    const boxOut = await Promise.all(boxes.map(async (b) => (await status(b))?.contents.filter((c) => c.download).map((c) => c.download!.pieceBytesOut).reduce((a, x) => a + x, 0) ?? 0));
    console.log(`update swarm: bundle ${bundleBytes} bytes (image ${IMAGE_BYTES}); all ${BOXES} boxes committed after ${elapsedS.toFixed(1)} s; ` +
      `operator seed uploaded ${seedOut} bytes (${(seedOut / bundleBytes).toFixed(2)} copies), tampered seed ${badOut}; boxes uploaded ${boxOut.join(', ')}`);

    for (let i = 0; i < BOXES; i++) {
      const u = finals[i]!.update!;
      expect(u.runningVersion, `box${i} runs the update`).toBe('99.0.0');
      expect(u.currentSlot, `box${i} booted the other slot`).toBe('B');
      expect(u.last).toMatchObject({ result: 'committed', version: '99.0.0' });
      const slots = join(boxes[i]!.stateDir, 'update', 'slots');
      expect(sha256File(join(slots, 'slot-B.img')), `box${i} slot B is the image`).toBe(imageSha);
      expect(JSON.parse(readFileSync(join(slots, 'boot.json'), 'utf8'))).toEqual({ committed: 'B', tryboot: null, current: 'B' });
      const agent = JSON.parse(readFileSync(join(boxes[i]!.stateDir, 'update', 'agent.json'), 'utf8')) as { refused: Record<string, string> };
      expect(agent.refused[badSeed.id], `box${i} refused the tampered bundle`).toMatch(/SHA-256/);
    }
    // The boxes shared the bundle: the operator's seed sent about one copy, the boxes the rest.
    expect(seedOut).toBeLessThanOrEqual(1.5 * bundleBytes);
    expect(boxOut.reduce((a, x) => a + x, 0)).toBeGreaterThan(0.5 * bundleBytes);
  }, 150_000);
});
