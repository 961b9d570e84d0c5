// Issue 7 test (5), in network namespaces (root only; skipped otherwise):
//   uplink ns: bridge br0 10.77.1.1/24 — rights issuer, central tracker, protected live source
//   main1:     up0 10.77.1.11 (default route) + seg0 10.77.9.1 on bridge `seg` (hub ns)
//   local1/2:  seg0 10.77.9.11 / .12 on `seg` only: no route to the uplink, no address of anything
// The local nodes find the main node by discovery, ask to join its domain through its DRM proxy;
// the owner sees both with `drm pending`, approves local1 and denies local2. local1 then gets a
// domain rights object through the proxy (which relays to the RI over the uplink) and plays the
// channel in clear (ffmpeg decodes its recording); local2 gets no rights and plays the preview only.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { controlCall } from '../../src/control/control-client.js';
import { isPreviewChunk } from '../../src/drm/live-protect.js';
import { cli } from '../support/drm.js';
import { buildDomainLab, drmOf, MAIN_SEGMENT, QUIET, rightsOf, startProtectedUplink, UPLINK } from '../support/drm-domain-lab.js';
import { ffmpegDecodeErrors, makeTestStream } from '../support/media.js';
import { NetnsLab, netnsAvailable, removeStaleLabs } from '../support/netns.js';
import { killAll, status, tempDir, waitFor, type Proc } from '../support/processes.js';
import { DEFAULT_LIVE_CONFIG } from '../../src/engine/live-config.js';
import { keyframeRun, recordedSeqs, sourceChunks } from '../support/recordings.js';

/** Chunks per second of the channel. */
const PER_S = 1000 / DEFAULT_LIVE_CONFIG.chunkMs;

const lab = new NetnsLab();
const procs: Proc[] = [];
afterAll(async () => {
  await killAll(procs);
  await lab.cleanup();
});

describe.skipIf(!netnsAvailable())('domain rights through a main node DRM proxy (network namespaces)', () => {
  it('an approved local node without uplink plays via a domain RO; a denied one gets the preview only', async () => {
    removeStaleLabs();
    const dir = tempDir('sd-drmns-');
    const input = makeTestStream({ seconds: 120, bitrateKbps: 500, path: join(dir, 'in.ts') });
    buildDomainLab(lab, [1, 2].map((j) => ({ ns: `local${j}`, ip: `10.77.9.${10 + j}`, dev: `l${j}` })));
    const { url, channelId } = await startProtectedUplink(lab, dir, procs, { input, nodes: ['main1', 'local1', 'local2'], previewS: 3, previewEveryS: 10 });
    const main = lab.start('main1', 'main1', dir, ['node', '--role', 'main', '--tracker', `${UPLINK}:7000`, '--segment', MAIN_SEGMENT, '--listen', '0.0.0.0:7878', '--player', 'none', '--rights-issuer', url, ...QUIET]);
    await waitFor('main1 to become the local tracker', 15_000, () => status(main), (s) => s.segment?.tracker === 'leader');
    const locals = [1, 2].map((j) => lab.start(`local${j}`, `local${j}`, dir, ['node', '--role', 'local', '--watch', 'paid', '--listen', '0.0.0.0:7878', '--player', 'none', '--record', join(dir, `local${j}.ts`), ...QUIET]));

    // Both locals find the proxy by discovery and ask to join.
    for (const l of locals) await waitFor(`${l.name} knows the proxy`, 30_000, async () => (await drmOf(l))?.rightsIssuer === `http://${MAIN_SEGMENT}:7881`);
    const joins: string[] = [];
    for (const l of locals) joins.push(((await controlCall(l.control, 'drm.join', {}, 20_000)) as { id: string }).id);
    const pending = cli(['drm', 'pending', '--control', main.control, '--json']);
    expect(pending.status, pending.stderr).toBe(0);
    const list = JSON.parse(pending.stdout) as { id: string; deviceId: string; name: string; requestedAt: string }[];
    expect(list.map((p) => p.id).sort()).toEqual([...joins].sort());
    expect(cli(['drm', 'approve', joins[0]!, '--control', main.control]).stdout).toMatch(/^approved join-.*joined dom-/);
    expect(cli(['drm', 'deny', joins[1]!, '--control', main.control]).stdout).toMatch(/^denied join-/);
    await waitFor('local1 approved', 15_000, async () => (await drmOf(locals[0]!))?.join?.state === 'approved');
    const denied = await waitFor('local2 denied', 15_000, async () => {
      const d = await drmOf(locals[1]!);
      return d?.join;
    }, (join) => join.state === 'denied');
    expect(denied.reason).toMatch(/denied the join request/);

    // local1: a domain RO through the proxy; its player gets the channel in clear.
    const acq = cli(['drm', 'acquire', channelId, '--domain', '--control', locals[0]!.control, '--json']);
    expect(acq.status, acq.stderr).toBe(0);
    expect(JSON.parse(acq.stdout)).toMatchObject({ binding: { kind: 'domain' } });
    await waitFor('local1 decrypting', 40_000, async () => {
      const r = await rightsOf(locals[0]!, channelId);
      return r?.state === 'allowed' && r.decryptedChunks >= 14 * PER_S;
    });
    // local2: no domain key, and the proxy refuses a device RO for a non-member.
    const a2 = cli(['drm', 'acquire', channelId, '--domain', '--control', locals[1]!.control]);
    expect(a2.status).toBe(1);
    expect(a2.stderr).toMatch(/holds no domain key: join a domain first/);
    const a3 = cli(['drm', 'acquire', channelId, '--control', locals[1]!.control]);
    expect(a3.status).toBe(1);
    expect(a3.stderr).toMatch(/is not an approved member of this main node's domain/);
    const r2 = await waitFor('local2 withheld chunks', 30_000, async () => {
      const r = await rightsOf(locals[1]!, channelId);
      return r;
    }, (r) => r.withheldChunks >= 5 * PER_S && r.clearChunks >= 2 * PER_S);
    expect(r2).toMatchObject({ state: 'preview-only', decryptedChunks: 0, reason: `no rights object for content ${channelId}` });

    await killAll(locals, 'SIGTERM');
    const chunks = sourceChunks(input, DEFAULT_LIVE_CONFIG.chunkMs);
    const policy = { chunkMs: DEFAULT_LIVE_CONFIG.chunkMs, previewS: 3, previewEveryS: 10 };
    for (const [j, wantClear] of [[1, true], [2, false]] as const) {
      const rec = readFileSync(join(dir, `local${j}.ts`));
      const seqs = recordedSeqs(rec, chunks);
      console.log(`local${j} recording: chunks ${seqs.join(',')}`);
      if (wantClear) {
        const i = seqs.findIndex((s) => !isPreviewChunk(s, policy));
        expect(i, 'local1 recorded a chunk outside the preview (decrypted)').toBeGreaterThanOrEqual(0);
        expect(seqs.length - i, 'decrypted chunks recorded from the first one on').toBeGreaterThanOrEqual(8 * PER_S);
        // Whole GOPs from the first keyframe on: a player resumes there after the withheld chunks.
        const run = keyframeRun(seqs, chunks, i);
        writeFileSync(join(dir, 'local1-clear.ts'), rec.subarray(run.start, run.end));
        expect(ffmpegDecodeErrors(join(dir, 'local1-clear.ts'))).toEqual([]);
      } else {
        expect(seqs.length).toBeGreaterThanOrEqual(1);
        expect(seqs.every((s) => isPreviewChunk(s, policy))).toBe(true);
      }
    }
  }, 240_000);
});
