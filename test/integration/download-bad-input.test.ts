// Bad input around downloads, process level: an unknown content id (exit 3) and a malformed one
// (exit 2); search at the tracker and at a peer; a seed whose file was altered after publishing
// sends bad pieces: they are rejected, the seed is dropped and blocked, the count shows in the
// progress output, and the copy still completes from the honest seed. The leecher meets the liar
// for certain: the honest seed is paused (SIGSTOP) until the liar has been caught, then resumed.
import { spawnSync } from 'node:child_process';
import { mkdirSync, openSync, writeSync, closeSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BUNDLE, killAll, status, tempDir, waitFor, type Proc } from '../support/processes.js';
import { killGet, lastEvent, makeRandomFile, publish, sha256File, startGet, startTracker, type GetProc } from '../support/downloads.js';

const procs: Proc[] = [];
const gets: GetProc[] = [];
afterAll(async () => {
  await Promise.all(gets.map((g) => killGet(g)));
  await killAll(procs);
});

function cli(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BUNDLE, ...args], { encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('downloads: bad input', () => {
  it('unknown and malformed content ids; search at the tracker and at a peer; a lying seed', async () => {
    const dir = tempDir('sd-dl-bad-');
    const tracker = await startTracker(dir, procs);
    mkdirSync(join(dir, 'honest'));
    mkdirSync(join(dir, 'liar'));
    const honestFile = join(dir, 'honest', 'clip.bin');
    makeRandomFile(honestFile, 6 * 1024 * 1024 + 3);
    copyFileSync(honestFile, join(dir, 'liar', 'clip.bin'));
    const honest = await publish(dir, 'honest', tracker, honestFile, procs, ['--title', 'Clip of the day']);

    const unknown = `dl-${'0'.repeat(64)}`;
    const r1 = cli(['get', unknown, '-o', join(dir, 'x.bin'), '--tracker', tracker]);
    expect(r1.code).toBe(3);
    expect(r1.stderr).toContain(`superdist: unknown content id ${unknown}: the tracker ${tracker} does not list it`);
    const r2 = cli(['get', 'clip.bin', '-o', join(dir, 'x.bin'), '--tracker', tracker]);
    expect(r2.code).toBe(2);
    expect(r2.stderr).toContain('is not a download content id');

    const r3 = cli(['search', '--tracker', tracker, 'day', '--json']);
    expect(r3.code).toBe(0);
    expect(JSON.parse(r3.stdout).contents).toEqual([
      { contentId: honest.id, kind: 'download', title: 'Clip of the day', sizeBytes: 6 * 1024 * 1024 + 3, from: [tracker] },
    ]);
    const seedContact = (await status(honest.proc))!.node.contact;
    const r4 = cli(['search', '--peer', seedContact, 'clip']);
    expect(r4.code).toBe(0);
    expect(r4.stdout).toMatch(new RegExp(`Clip of the day\\s+download\\s+6291459\\s+${honest.id}`));
    expect(cli(['search', '--tracker', tracker, 'nothing-like-this']).stdout).toContain('no contents match "nothing-like-this"');

    // The liar publishes the same file (same content id), then its file changes on disk.
    const liar = await publish(dir, 'liar', tracker, join(dir, 'liar', 'clip.bin'), procs);
    expect(liar.id).toBe(honest.id);
    const fd = openSync(join(dir, 'liar', 'clip.bin'), 'r+');
    writeSync(fd, Buffer.alloc(6 * 1024 * 1024, 0x5a), 0, 6 * 1024 * 1024, 0);
    closeSync(fd);
    await waitFor('liar partnered by the tracker', 10_000, async () => (await status(liar.proc))?.contents[0]?.partners, (n) => n >= 1);

    // Only the liar answers at first: the honest seed is paused until the leecher has caught the liar.
    honest.proc.child.kill('SIGSTOP');
    const out = join(dir, 'copy.bin');
    const g = startGet(dir, 'get', tracker, honest.id, out, ['--no-seed']);
    gets.push(g);
    try {
      await waitFor('the leecher to reject a bad piece from the liar', 30_000, async () => g.stderr().includes('bad piece rejected; peer dropped and blocked'));
    } finally {
      honest.proc.child.kill('SIGCONT');
    }
    expect(await g.exit).toBe(0);
    const done = lastEvent(g, 'complete');
    expect(done, 'the leecher reported completion').toBeDefined();
    expect(sha256File(out)).toBe(sha256File(honestFile));
    expect(done!.badPieces as number, 'bad pieces counted in the progress output').toBeGreaterThan(0);
  }, 120_000);
});
