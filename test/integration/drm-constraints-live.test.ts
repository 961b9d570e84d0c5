// Issue 7 tests (3) and (4) on the live path with real processes: a rights object of 2 plays allows
// two watches of a protected channel and no third, also after the node is SIGKILLed and restarted;
// a rights object with a notAfter a few seconds ahead stops decryption while the channel plays.
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { controlCall } from '../../src/control/control-client.js';
import { enrol, startCaAndRi } from '../support/drm.js';
import { startTracker } from '../support/downloads.js';
import { makeTestStream } from '../support/media.js';
import { killAll, startProc, status, tempDir, waitFor, waitUp, type Proc } from '../support/processes.js';

const procs: Proc[] = [];
afterAll(() => killAll(procs));

type Rights = { state: string; reason?: string; roId?: string; decryptedChunks: number; withheldChunks: number };

describe('rights-object constraints on a live channel', () => {
  it('a count of 2 stops the third watch across a restart; an expiring object stops playback', async () => {
    const dir = tempDir('sd-drmc-');
    const input = makeTestStream({ seconds: 120, bitrateKbps: 400, path: join(dir, 'in.ts') });
    const { caDir, url } = await startCaAndRi(dir, procs);
    const t = await startTracker(dir, procs);
    const notAfter = new Date(Date.now() + 45_000).toISOString();
    const ids: Record<string, string> = {};
    for (const [name, extra] of [['counted', ['--count', '2']], ['dated', ['--not-after', notAfter]]] as const) {
      enrol(dir, `src-${name}`, caDir, 'packager');
      const src = startProc(`src-${name}`, dir, ['publish', 'live', '--tracker', t, '--channel', name, '--input', input, '--listen', '127.0.0.1:0', '--protect', '--rights-issuer', url, ...extra, '--log-level', 'warn']);
      procs.push(src);
      ids[name] = await waitFor(`${name} key registered`, 20_000, async () => {
        const d = ((await status(src)) as unknown as { drm?: { source?: { registered: boolean; channelId: string } } } | undefined)?.drm;
        return d?.source?.registered ? d.source.channelId : undefined;
      }, (id) => id.length > 0);
    }
    enrol(dir, 'tv', caDir);
    const startTv = () => {
      const p = startProc('tv', dir, ['node', '--tracker', t, '--listen', '127.0.0.1:0', '--player', 'none', '--rights-issuer', url, '--log-level', 'warn']);
      procs.push(p);
      return p;
    };
    let tv = startTv();
    await waitUp(tv, 15_000, 'tv up');
    for (const id of Object.values(ids)) await controlCall(tv.control, 'drm.acquire', { contentId: id }, 20_000);
    const rights = async (id: string) => ((await status(tv))?.contents.find((c) => c.id === id) as { rights?: Rights } | undefined)?.rights;
    const watch = async (name: string, until: (r: Rights) => boolean, what: string) => {
      await controlCall(tv.control, 'play', { channel: name }, 20_000);
      const r = await waitFor(what, 40_000, () => rights(ids[name]!), until);
      return r;
    };

    for (const n of [1, 2]) {
      await watch('counted', (r) => r.state === 'allowed' && r.decryptedChunks >= 2, `counted watch ${n} decrypting`);
      await controlCall(tv.control, 'stop', {}, 10_000);
    }
    await killAll([tv]);
    tv = startTv();
    await waitUp(tv, 15_000, 'tv up again');
    const third = await watch('counted', (r) => r.withheldChunks >= 3, 'third watch withheld');
    expect(third).toMatchObject({ state: 'preview-only', decryptedChunks: 0, reason: expect.stringMatching(/^rights object ro-[0-9a-f]+: all 2 plays used$/) });
    const drm = (await controlCall(tv.control, 'drm.status', {}, 5000)) as { rightsObjects: { contentId: string; plays: number; usable: boolean }[] };
    expect(drm.rightsObjects.find((r) => r.contentId === ids.counted)).toMatchObject({ plays: 2, usable: false });
    await controlCall(tv.control, 'stop', {}, 10_000);

    // The dated object: plays now, stops once notAfter passes (while the channel keeps flowing).
    const before = await watch('dated', (r) => r.state === 'allowed' && r.decryptedChunks >= 2, 'dated decrypting');
    expect(Date.now()).toBeLessThan(Date.parse(notAfter));
    const after = await waitFor('dated stops at notAfter', 60_000, async () => {
      const r = await rights(ids.dated!);
      return r;
    }, (r) => r.state === 'preview-only' && r.withheldChunks >= 2);
    expect(Date.now()).toBeGreaterThanOrEqual(Date.parse(notAfter));
    expect(after.reason).toBe(`rights object ${before.roId}: expired at ${notAfter}`);
    expect(after.decryptedChunks).toBeGreaterThan(before.decryptedChunks);
  }, 240_000);
});
