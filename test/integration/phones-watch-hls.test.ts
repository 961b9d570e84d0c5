// Phones in the room watch in the browser: a tracker, a live source (ffmpeg H.264/AAC, looped) and a
// TV box playing it on real headless mpv with its web page; headless Chromium (MSE, hls.js from the
// box) presses Watch and plays the channel from the box's HLS. A second phone beyond web.maxViewers
// is told the box is full; an unknown channel is 404; after the TV stops the channel it is 410 and
// the watching page says so. A protected channel (the box holds a rights object) plays its preview
// only on a phone until the owner approves that browser on the owner panel; then it plays in full.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { controlCall } from '../../src/control/control-client.js';
import { enrol, startCaAndRi } from '../support/drm.js';
import { makeTestStream } from '../support/media.js';
import { BUNDLE, chunksPublished, killAll, startProc, status, tempDir, waitFor, waitUp, type Proc } from '../support/processes.js';

const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const PHONE = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true };

const procs: Proc[] = [];
let browser: Browser | undefined;
afterAll(async () => {
  await browser?.close().catch(() => undefined);
  await killAll(procs);
});

async function chromiumBrowser(): Promise<Browser> {
  browser ??= await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
  return browser;
}

/** `video.currentTime` advances at least 8 s in 10 s of wall time and frames are decoded. */
async function playsInRealTime(page: Page, what: string): Promise<void> {
  const start = await waitFor(`${what}: the video to play`, 30_000, () => playback(page), (p) => p.currentTime > 0.5 && !p.paused);
  const t0 = Date.now();
  await new Promise((r) => setTimeout(r, 10_000));
  const end = await playback(page);
  const info = await page.locator('#watch-info').textContent();
  console.log(`phones (${what}): video ${start.currentTime.toFixed(2)} -> ${end.currentTime.toFixed(2)} s in ${((Date.now() - t0) / 1000).toFixed(1)} s wall, frames ${start.frames} -> ${end.frames}; page: ${info}`);
  expect(end.currentTime - start.currentTime).toBeGreaterThanOrEqual(8);
  expect(end.frames).toBeGreaterThan(start.frames + 100);
  expect(info).toMatch(/^Playing · lag \d+\.\d s · \d+ stalls?$/);
}

interface Playback {
  currentTime: number;
  frames: number;
  paused: boolean;
}

// Evaluated in the page (a string: this file is type-checked without the DOM library).
const playback = (page: Page): Promise<Playback> =>
  page.evaluate(`(() => {
    const v = document.getElementById('watch-video');
    return { currentTime: v.currentTime, frames: v.getVideoPlaybackQuality().totalVideoFrames, paused: v.paused };
  })()`);

/** GET from inside the page (its session cookie): status and the box's error text. */
const fetchFromPage = (page: Page, path: string): Promise<{ status: number; error?: string }> =>
  page.evaluate(async (p) => {
    const r = await fetch(p);
    const body = r.ok ? {} : ((await r.json()) as { error?: string });
    return { status: r.status, ...body };
  }, path);

describe('phones watch a channel from the box in the browser (HLS)', () => {
  it('Watch plays the channel in real time; full box, unknown and stopped channels are answered clearly', async () => {
    const dir = tempDir('sd-phones-');
    const input = makeTestStream({ seconds: 60, bitrateKbps: 800, path: join(dir, 'alpha.ts') });
    const tracker = startProc('tracker', dir, ['tracker', '--listen', '127.0.0.1:0', '--log-level', 'warn']);
    procs.push(tracker);
    const t = (await waitUp(tracker)).node.contact;
    const src = startProc('src', dir, ['publish', 'live', '--tracker', t, '--channel', 'alpha', '--input', input, '--loop', '--listen', '127.0.0.1:0', '--log-level', 'warn']);
    procs.push(src);
    await waitFor('the source to publish', 15_000, () => chunksPublished(src), (n) => n > 0);
    const tv = startProc('tv', dir, [
      'node', '--tracker', t, '--listen', '127.0.0.1:0', '--watch', 'alpha', '--web', '127.0.0.1:0', '--name', 'Bar TV', '--log-level', 'warn',
      '--set', 'player.output="headless"', '--set', 'web.maxViewers=1',
    ]);
    procs.push(tv);
    const url = await waitFor('the web page URL', 20_000, async () => (await status(tv))?.web?.urls[0], (u) => u.startsWith('http://'));
    const alphaId = await waitFor('the TV to play alpha', 20_000, async () => (await status(tv))?.contents.find((c) => c.watching)?.id, (id) => id.length > 0);

    const phone = await (await chromiumBrowser()).newContext(PHONE).then((c) => c.newPage());
    const pageErrors: string[] = [];
    phone.on('pageerror', (e) => pageErrors.push(e.message));
    await phone.goto(url);
    const watch = phone.locator('#channels li[data-channel="alpha"] button.watch');
    await watch.waitFor({ timeout: 15_000 });
    await expect.poll(() => watch.isEnabled(), { timeout: 15_000 }).toBe(true);
    await watch.click();

    // Playing: the clock moves and frames are decoded, in real time.
    await playsInRealTime(phone, 'clear channel');
    const web = (await status(tv))?.web?.phones;
    expect(web).toMatchObject({ viewers: 1, maxViewers: 1 });
    expect(web!.segments).toBeGreaterThanOrEqual(8);
    // The TV kept playing while the phone watched.
    const tvCont = (await status(tv))?.contents.find((c) => c.watching)?.continuityIndex;
    console.log(`phones: TV continuity ${tvCont}, box phones ${JSON.stringify(web)}`);

    // A second phone: the box already serves web.maxViewers = 1.
    const second = await (await chromiumBrowser()).newContext(PHONE).then((c) => c.newPage());
    second.on('pageerror', (e) => pageErrors.push(e.message));
    await second.goto(url);
    const watch2 = second.locator('#channels li[data-channel="alpha"] button.watch');
    await expect.poll(() => watch2.isEnabled(), { timeout: 15_000 }).toBe(true);
    await watch2.click();
    await expect.poll(() => second.locator('#watch-error').textContent(), { timeout: 10_000 }).toBe('this box already shows 1 phone, the most it allows (web.maxViewers 1); try again when one stops watching');

    // Unknown channel: 404; the TV stops alpha: 410, and the watching page says so.
    expect(await fetchFromPage(phone, '/hls/nosuch/index.m3u8')).toEqual({ status: 404, error: 'this box does not receive a channel "nosuch": play it on the TV first' });
    await controlCall(tv.control, 'stop', {}, 5000);
    expect(await fetchFromPage(phone, `/hls/${alphaId}/index.m3u8`)).toEqual({ status: 410, error: 'channel alpha stopped on this box' });
    await expect.poll(() => phone.locator('#watch-error').textContent(), { timeout: 30_000 }).toBe('channel alpha stopped on this box');
    expect(pageErrors).toEqual([]);
  }, 180_000);

  it('a protected channel plays its preview only on a phone until the owner approves that browser, then in full', async () => {
    const dir = tempDir('sd-phones-drm-');
    const input = makeTestStream({ seconds: 90, bitrateKbps: 600, path: join(dir, 'paid.ts') });
    const { caDir, url: ri } = await startCaAndRi(dir, procs);
    enrol(dir, 'src', caDir, 'packager');
    enrol(dir, 'tv', caDir);
    const tracker = startProc('tracker', dir, ['tracker', '--listen', '127.0.0.1:0', '--log-level', 'warn']);
    procs.push(tracker);
    const t = (await waitUp(tracker)).node.contact;
    const src = startProc('src', dir, ['publish', 'live', '--tracker', t, '--channel', 'paid', '--input', input, '--loop', '--listen', '127.0.0.1:0', '--protect', '--rights-issuer', ri, '--preview', '3', '--preview-every', '10', '--log-level', 'warn']);
    procs.push(src);
    const channelId = await waitFor('the channel key registered', 20_000, async () => {
      const s = await status(src);
      const registered = (s as unknown as { drm?: { source?: { registered: boolean } } } | undefined)?.drm?.source?.registered;
      return registered ? s?.contents[0]?.id : undefined;
    }, (id) => id.length > 0);
    const password = 'bar owner secret 42';
    const set = spawnSync(process.execPath, [BUNDLE, 'web', 'set-password', '--state-dir', join(dir, 'tv'), '--password-stdin'], { input: `${password}\n`, encoding: 'utf8' });
    expect(set.status, set.stderr).toBe(0);
    const tv = startProc('tv', dir, ['node', '--tracker', t, '--listen', '127.0.0.1:0', '--watch', 'paid', '--player', 'none', '--web', '127.0.0.1:0', '--log-level', 'warn']);
    procs.push(tv);
    const url = await waitFor('the web page URL', 20_000, async () => (await status(tv))?.web?.urls[0], (u) => u.startsWith('http://'));
    // The box itself holds a rights object for the channel: its TV plays it in full.
    await waitFor('the TV to receive paid', 30_000, async () => (await status(tv))?.contents.some((c) => c.id === channelId) ?? false);
    await controlCall(tv.control, 'drm.acquire', { contentId: channelId, rightsIssuer: ri }, 20_000);
    await waitFor('the TV decrypting', 30_000, async () => {
      const c = (await status(tv))?.contents.find((x) => x.id === channelId) as { rights?: { state: string } } | undefined;
      return c?.rights?.state === 'allowed';
    });

    const b = await chromiumBrowser();
    const phone = await (await b.newContext(PHONE)).newPage();
    const pageErrors: string[] = [];
    phone.on('pageerror', (e) => pageErrors.push(e.message));
    await phone.goto(url);
    const watch = phone.locator('#channels li[data-channel="paid"] button.watch');
    await expect.poll(() => watch.isEnabled(), { timeout: 20_000 }).toBe(true);
    await watch.click();
    // Preview only: the page says so and offers to ask the owner.
    await phone.locator('#watch-preview').waitFor({ state: 'visible', timeout: 30_000 });
    // The page says preview as soon as the box holds a chunk this browser may not play; the
    // playlist shows it as a gap once a whole protected segment is in the window (the preview is
    // 3 s of every 10 s, so within one cycle).
    const playlist = () =>
      phone.evaluate(async (id) => {
        const r = await fetch(`/hls/${id}/index.m3u8`);
        return { access: r.headers.get('X-Superdist-Access'), gaps: ((await r.text()).match(/#EXT-X-GAP/g) ?? []).length };
      }, channelId);
    let pre = await playlist();
    for (const until = Date.now() + 15_000; pre.gaps === 0 && Date.now() < until; pre = await playlist()) await new Promise((r) => setTimeout(r, 500));
    console.log(`phones (protected, not approved): playlist access ${pre.access}, ${pre.gaps} gap segments`);
    expect(pre.access).toBe('preview');
    expect(pre.gaps).toBeGreaterThan(0);
    await phone.locator('#watch-ask').click();
    await expect.poll(() => phone.locator('#watch-asked').textContent(), { timeout: 10_000 }).toBe('Asked: waiting for the owner…');

    // The owner approves the phone on the owner panel.
    const owner = await (await b.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
    owner.on('pageerror', (e) => pageErrors.push(e.message));
    await owner.goto(url);
    await owner.locator('#login-open').click();
    await owner.locator('#login-password').fill(password);
    await owner.locator('#login-form button[type="submit"]').click();
    await expect.poll(() => owner.locator('#role-badge').textContent(), { timeout: 15_000 }).toBe('owner');
    const approve = owner.locator('#phone-requests li[data-request] button.approve');
    await approve.waitFor({ timeout: 15_000 });
    await approve.click();
    await expect.poll(() => owner.locator('#phones-slots').textContent(), { timeout: 10_000 }).toMatch(/^1 of 7 phones/);

    // The phone plays the channel in full.
    await phone.locator('#watch-preview').waitFor({ state: 'hidden', timeout: 20_000 });
    await playsInRealTime(phone, 'protected channel, approved');
    const after = await phone.evaluate(async (id) => (await fetch(`/hls/${id}/index.m3u8`)).headers.get('X-Superdist-Access'), channelId);
    expect(after).toBe('approved');
    expect(pageErrors).toEqual([]);
  }, 240_000);
});
