// Issue 7 tests (1) and (2) with real processes: a protected live channel and a packaged file travel
// through a node that has no rights: it relays both, its player gets the preview only and its status
// says why; after it acquires a rights object its player gets the channel in clear and ffmpeg decodes
// the recording; a packaged file plays on the box's TV (its loopback stream) as the preview only
// without rights and whole with a rights object, and `drm play --out` writes no clear copy.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { controlCall } from '../../src/control/control-client.js';
import { isPreviewChunk } from '../../src/drm/live-protect.js';
import { cli, cliOk, enrol, startCaAndRi } from '../support/drm.js';
import { lastEvent, killGet, publish, startGet, startTracker } from '../support/downloads.js';
import { ffmpegDecodeErrors, makeTestStream } from '../support/media.js';
import { killAll, startProc, status, tempDir, waitFor, waitUp, type Proc } from '../support/processes.js';
import { DEFAULT_LIVE_CONFIG } from '../../src/engine/live-config.js';
import { keyframeRun, recordedSeqs, sourceChunks } from '../support/recordings.js';

const procs: Proc[] = [];
afterAll(() => killAll(procs));

const PREVIEW = { chunkMs: DEFAULT_LIVE_CONFIG.chunkMs, previewS: 3, previewEveryS: 10 };
/** Chunks per second of the channel. */
const PER_S = 1000 / DEFAULT_LIVE_CONFIG.chunkMs;

/** What a player reads from the box's loopback stream. */
async function readStream(url: string): Promise<Buffer> {
  const res = await fetch(url);
  expect(res.status).toBe(200);
  return Buffer.from(await res.arrayBuffer());
}

/** Bytes to a file for ffmpeg to decode (the test checks what the player got). */
function saved(path: string, bytes: Buffer): string {
  writeFileSync(path, bytes);
  return path;
}

describe('protected content through a node without rights', () => {
  it('relays an encrypted channel and file, plays the preview only with the reason, and plays in clear after acquiring rights', async () => {
    const dir = tempDir('sd-drm-');
    const input = makeTestStream({ seconds: 90, bitrateKbps: 600, path: join(dir, 'in.ts') });
    const { caDir, url } = await startCaAndRi(dir, procs);
    enrol(dir, 'src', caDir, 'packager');
    enrol(dir, 'tv', caDir);
    const t = await startTracker(dir, procs);

    const src = startProc('src', dir, ['publish', 'live', '--tracker', t, '--channel', 'paid', '--input', input, '--listen', '127.0.0.1:0', '--protect', '--rights-issuer', url, '--preview', '3', '--preview-every', '10', '--log-level', 'warn']);
    procs.push(src);
    const srcStatus = await waitFor('channel key registered', 20_000, async () => {
      const s = await status(src);
      const d = (s as unknown as { drm?: { source?: { registered: boolean } } })?.drm;
      return d?.source?.registered ? s : undefined;
    }, (s) => s.contents[0] !== undefined);
    const channelId = srcStatus!.contents[0]!.id;

    const tvRec = join(dir, 'tv.ts');
    const tv = startProc('tv', dir, ['node', '--tracker', t, '--listen', '127.0.0.1:0', '--watch', 'paid', '--player', 'none', '--record', tvRec, '--log-level', 'warn']);
    const other = startProc('other', dir, ['node', '--tracker', t, '--listen', '127.0.0.1:0', '--watch', 'paid', '--player', 'none', '--log-level', 'warn']);
    procs.push(tv, other);

    // Without rights: preview only, with the reason in status; the node still relays chunks.
    const tvContent = async () => (await status(tv))?.contents.find((c) => c.id === channelId) as (Record<string, unknown> & { rights?: { state: string; reason?: string; withheldChunks: number; clearChunks: number; decryptedChunks: number }; chunkBytesOut?: number }) | undefined;
    const pre = await waitFor('tv preview-only with withheld chunks', 40_000, async () => {
      const c = await tvContent();
      return c;
    }, (c) => c.rights?.state === 'preview-only' && c.rights.withheldChunks >= 5 * PER_S && c.rights.clearChunks >= 2 * PER_S);
    expect(pre.rights!.reason).toBe(`no rights object for content ${channelId}`);
    await waitFor('tv uploads chunks to the other node', 30_000, async () => ((await tvContent())?.chunkBytesOut ?? 0) > 0);

    // Acquire through the running node's control API: within seconds its player gets clear chunks.
    const acq = (await controlCall(tv.control, 'drm.acquire', { contentId: channelId, rightsIssuer: url }, 20_000)) as { roId: string };
    expect(acq.roId).toMatch(/^ro-/);
    await waitFor('tv decrypting', 20_000, async () => {
      const c = await tvContent();
      return c?.rights?.state === 'allowed' && c.rights.decryptedChunks >= 8 * PER_S;
    });
    await killAll([tv], 'SIGTERM');

    const chunks = sourceChunks(input, DEFAULT_LIVE_CONFIG.chunkMs);
    const seqs = recordedSeqs(readFileSync(tvRec), chunks);
    const firstEncrypted = seqs.findIndex((s) => !isPreviewChunk(s, PREVIEW));
    console.log(`tv recording: chunks ${seqs.join(',')}; ${firstEncrypted} before the rights object`);
    // Before the RO only preview chunks reached the player, and chunks were withheld (gaps).
    expect(firstEncrypted).toBeGreaterThanOrEqual(2 * PER_S);
    const previewPart = seqs.slice(0, firstEncrypted);
    expect(previewPart.every((s) => isPreviewChunk(s, PREVIEW))).toBe(true);
    // (Encrypted bytes never reached the player: recordedSeqs() throws on bytes that are no source
    // chunk, and the >= 5 s of chunks the status counted as withheld are not in this part.)
    // After it: consecutive clear chunks, which ffmpeg decodes.
    const after = seqs.slice(firstEncrypted);
    expect(after.length).toBeGreaterThanOrEqual(8 * PER_S);
    const tail = join(dir, 'tv-after.ts');
    const recBytes = readFileSync(tvRec);
    // Whole GOPs from the first keyframe on: a player resumes there after the withheld chunks.
    const run = keyframeRun(seqs, chunks, firstEncrypted);
    writeFileSync(tail, recBytes.subarray(run.start, run.end));
    expect(ffmpegDecodeErrors(tail)).toEqual([]);

    // A packaged file: published, fetched by tv (no rights), seeded by tv alone to a third node.
    const sdc = join(dir, 'movie.sdc');
    const movie = makeTestStream({ seconds: 12, bitrateKbps: 800, path: join(dir, 'movie.ts') });
    const contentId = cliOk(['drm', 'package', '--in', movie, '--out', sdc, '--rights-issuer', url, '--preview', '3', '--state-dir', join(dir, 'src')]).trim().split('\n').pop()!;
    expect(contentId).toMatch(/^sdc-[0-9a-f]{32}$/);
    const pub = await publish(dir, 'fpub', t, sdc, procs);
    const tvGet = startGet(dir, 'tvget', t, pub.id, join(dir, 'tv.sdc'));
    await waitFor('tv has the file', 60_000, async () => lastEvent(tvGet, 'complete') !== undefined || lastEvent(tvGet, 'seeding') !== undefined);
    await killAll([pub.proc]);
    const thirdGet = startGet(dir, 'third', t, pub.id, join(dir, 'third.sdc'), ['--no-seed']);
    expect(await thirdGet.exit, thirdGet.stderr()).toBe(0);
    expect(readFileSync(join(dir, 'third.sdc')).equals(readFileSync(sdc))).toBe(true);
    await killGet(tvGet, 'SIGTERM');

    // The packaged file on the box's TV (no player here: what the player would read is fetched from
    // the loopback stream): a clear copy to a file is refused; without rights the preview only, with
    // the reason; after acquiring, the whole file, with byte ranges.
    const box = startProc('tv', dir, ['node', '--tracker', t, '--listen', '127.0.0.1:0', '--player', 'none', '--log-level', 'warn']);
    procs.push(box);
    await waitUp(box, 15_000, 'the tv box');
    const sdcCopy = join(dir, 'tv.sdc');
    const refused = cli(['drm', 'play', sdcCopy, '--out', join(dir, 'tv-movie.ts'), '--control', box.control]);
    expect(refused.status).toBe(2);
    expect(refused.stderr).toContain('drm play no longer writes clear bytes to a file or stdout');
    expect(existsSync(join(dir, 'tv-movie.ts'))).toBe(false);

    const tvPlay = cli(['drm', 'play', sdcCopy, '--control', box.control, '--json']);
    expect(tvPlay.status, tvPlay.stderr).toBe(0);
    const r = JSON.parse(tvPlay.stdout) as { url: string; sizeBytes: number; protected: { contentId: string; rights: { state: string; reason: string }; chunks: number; previewChunks: number } };
    expect(r.protected.rights).toEqual({ state: 'preview-only', reason: `no rights object for content ${contentId}` });
    expect(r.protected.previewChunks).toBeGreaterThan(0);
    expect(r.protected.previewChunks).toBeLessThan(r.protected.chunks);
    const movieBytes = readFileSync(movie);
    const preview = await readStream(r.url);
    expect(preview.length).toBe(r.protected.previewChunks * 188 * 1024);
    expect(movieBytes.subarray(0, preview.length).equals(preview)).toBe(true);
    expect(ffmpegDecodeErrors(saved(join(dir, 'check-preview.ts'), preview))).toEqual([]);
    expect((await fetch(r.url, { headers: { Range: `bytes=${preview.length}-` } })).status).toBe(416); // nothing past the preview
    expect((await status(box))?.vod).toMatchObject({ contentId: 'file-tv.sdc', rights: { state: 'preview-only' } });

    const acquired = (await controlCall(box.control, 'drm.acquire', { contentId, rightsIssuer: url }, 20_000)) as { roId: string };
    const full = cli(['drm', 'play', sdcCopy, '--control', box.control]);
    expect(full.status, full.stderr).toBe(0);
    expect(full.stdout).toBe(`playing ${contentId} on the TV (rights object ${acquired.roId})\n`);
    const url2 = (await status(box))!.vod!.url!;
    const whole = await readStream(url2);
    expect(whole.equals(movieBytes)).toBe(true);
    expect(ffmpegDecodeErrors(saved(join(dir, 'check-full.ts'), whole))).toEqual([]);
    const part = await fetch(url2, { headers: { Range: 'bytes=200000-399999' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 200000-399999/${movieBytes.length}`);
    expect(Buffer.from(await part.arrayBuffer()).equals(movieBytes.subarray(200_000, 400_000))).toBe(true);

    // The published .sdc played by its download id: fetched by the box as it plays, decrypted by
    // the agent on the way to the player.
    const pub2 = await publish(dir, 'fpub2', t, sdc, procs);
    const vod = (await controlCall(box.control, 'play', { channel: pub2.id }, 20_000)) as { playing: { url: string; protected?: { contentId: string; rights: { state: string } } } };
    expect(vod.playing.protected).toMatchObject({ contentId, rights: { state: 'allowed' } });
    expect((await readStream(vod.playing.url)).equals(movieBytes)).toBe(true);
    expect((await status(box))?.vod).toMatchObject({ contentId: pub2.id, rights: { state: 'allowed' } });
  }, 240_000);
});
