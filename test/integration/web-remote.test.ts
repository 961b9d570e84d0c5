// The box's web page in headless Chromium against a running swarm (tracker, two live sources, a TV
// node with real headless mpv run from a copy of the bundle in an empty directory): the page lists the
// channels, the owner switches the TV (mpv's IPC shows the new stream), the chart updates, a viewer
// without the credential gets 403 for approvals and switching, then may switch once the owner allows.
// A node that joined a channel but has not played shows continuity "–" in status and on its page.
// WEB_SCREENSHOTS=1 also writes bench-results/web-*.png at phone and desktop widths.
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { MpvIpc } from '../../src/player/mpv-ipc.js';
import { makeTestStream } from '../support/media.js';
import { BUNDLE, chunksPublished, killAll, startProc, status, tempDir, waitFor, waitUp, type Proc } from '../support/processes.js';

const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic', '--no-first-run'];
const PHONE = { width: 390, height: 844 };
const DESKTOP = { width: 1280, height: 800 };
const PASSWORD = 'bar owner secret 42';
const SHOTS = process.env.WEB_SCREENSHOTS === '1' ? fileURLToPath(new URL('../../bench-results/', import.meta.url)) : undefined;

const procs: Proc[] = [];
let browser: Browser | undefined;
afterAll(async () => {
  await browser?.close().catch(() => undefined);
  await killAll(procs);
});

/** The TV: the bundle copied alone into an empty directory, so the page can only come from memory. */
function startTv(dir: string, args: string[]): Proc {
  const empty = join(dir, 'empty');
  mkdirSync(empty);
  const bundle = join(empty, 'superdist.cjs');
  copyFileSync(BUNDLE, bundle);
  const control = join(dir, 'tv.sock');
  const stateDir = join(dir, 'tv');
  const weak = spawnSync(process.execPath, [bundle, 'web', 'set-password', '--state-dir', stateDir, '--password-stdin'], { cwd: empty, input: 'admin\n', encoding: 'utf8' });
  expect(weak.status).toBe(2);
  expect(weak.stderr).toContain('the password needs at least 8 characters; nothing changed');
  const set = spawnSync(process.execPath, [bundle, 'web', 'set-password', '--state-dir', stateDir, '--password-stdin'], { cwd: empty, input: `${PASSWORD}\n`, encoding: 'utf8' });
  expect(set.status, set.stderr).toBe(0);
  expect(set.stdout).toContain('owner password set');
  const child = spawn(process.execPath, [bundle, ...args, '--control', control, '--state-dir', stateDir], { cwd: empty, env: { PATH: process.env.PATH, HOME: empty }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const keep = (d: Buffer) => (out = (out + d.toString()).slice(-20_000));
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return { name: 'tv', child, control, stateDir, output: () => out };
}

async function shot(page: Page, name: string): Promise<void> {
  if (!SHOTS) return;
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: join(SHOTS, `web-${name}.png`), fullPage: true });
}

/** A request made by the page's own script (same origin, its cookie and CSRF token). */
function apiFromPage(page: Page, method: string, params: Record<string, unknown>): Promise<{ status: number; body: { error?: string } }> {
  return page.evaluate(
    async ([m, p]) => {
      const s = (await (await fetch('/api/session')).json()) as { csrf: string };
      const r = await fetch('/api/call', { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': s.csrf }, body: JSON.stringify({ method: m, params: p }) });
      return { status: r.status, body: (await r.json()) as { error?: string } };
    },
    [method, params] as const,
  );
}

const chartPoints = async (page: Page) => Number((await page.locator('#chart').getAttribute('data-points')) ?? 0);

describe('the web remote in a browser', () => {
  it('lists channels, the owner switches the TV (mpv follows), the chart updates, a viewer cannot approve', async () => {
    const dir = tempDir('sd-web-');
    const inputA = makeTestStream({ seconds: 60, bitrateKbps: 800, path: join(dir, 'a.ts') });
    const inputB = makeTestStream({ seconds: 60, bitrateKbps: 600, path: join(dir, 'b.ts'), size: '352x288' });
    const tracker = startProc('tracker', dir, ['tracker', '--listen', '127.0.0.1:0', '--log-level', 'warn']);
    procs.push(tracker);
    const t = (await waitUp(tracker, 10_000, 'tracker').catch((err: Error) => {
      throw new Error(`${err.message}; tracker output: ${tracker.output()}`);
    })).node.contact;
    for (const [name, input] of [['alpha', inputA], ['beta', inputB]] as const) {
      const src = startProc(`src-${name}`, dir, ['publish', 'live', '--tracker', t, '--channel', name, '--input', input, '--loop', '--listen', '127.0.0.1:0', '--log-level', 'warn']);
      procs.push(src);
      await waitFor(`source ${name} publishing its first chunk`, 10_000, () => chunksPublished(src), (n) => n >= 1);
    }
    const ipcPath = join(dir, 'mpv.sock');
    const tv = startTv(dir, [
      'node', '--tracker', t, '--listen', '127.0.0.1:0', '--watch', 'alpha', '--web', '127.0.0.1:0', '--name', 'Bar TV', '--log-level', 'info',
      '--set', 'player.output="headless"', '--set', `player.ipcSocket="${ipcPath}"`,
    ]);
    procs.push(tv);
    const url = await waitFor('the web page URL', 15_000, async () => (await status(tv))?.web?.urls[0], (u) => u.startsWith('http://'));
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    expect((await status(tv))?.web?.ownerPasswordSet).toBe(true);
    await waitFor('mpv IPC socket', 15_000, async () => existsSync(ipcPath));
    const mpv = await MpvIpc.connect(ipcPath);
    try {
      await waitFor('mpv to play alpha', 20_000, async () => String(await mpv.getProperty<string>('path').catch(() => '')).includes('/live/alpha'));

      browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
      // ---- a viewer on a phone: browses, cannot switch or approve -------------------------------
      const viewerCtx = await browser.newContext({ viewport: PHONE, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
      const viewer = await viewerCtx.newPage();
      const pageErrors: string[] = [];
      viewer.on('pageerror', (e) => pageErrors.push(e.message));
      await viewer.goto(url);
      await viewer.locator('#channels li[data-channel="beta"]').waitFor({ timeout: 15_000 });
      expect(await viewer.locator('#channels li').allInnerTexts()).toEqual([expect.stringMatching(/^alpha/), expect.stringMatching(/^beta/)]);
      await expect.poll(() => viewer.locator('#playing-name').textContent(), { timeout: 10_000 }).toBe('alpha');
      expect(await viewer.locator('#role-badge').textContent()).toBe('viewer');
      expect(await viewer.locator('#channels li[data-channel="beta"] button.play').isDisabled()).toBe(true);
      // The chart gains points as status events arrive.
      await expect.poll(() => chartPoints(viewer), { timeout: 15_000 }).toBeGreaterThanOrEqual(3);
      const before = await chartPoints(viewer);
      await expect.poll(() => chartPoints(viewer), { timeout: 10_000 }).toBeGreaterThanOrEqual(before + 3);
      await expect.poll(async () => Number.parseFloat((await viewer.locator('#t-continuity').textContent()) ?? ''), { timeout: 10_000 }).toBeGreaterThan(90);
      const approve = await apiFromPage(viewer, 'drm.approve', { id: 'any' });
      expect(approve.status).toBe(403);
      expect(approve.body.error).toMatch(/only the owner/);
      expect((await apiFromPage(viewer, 'play', { channel: 'beta' })).status).toBe(403);
      await shot(viewer, 'phone-viewer');

      // ---- the owner on a desktop: logs in, switches the TV --------------------------------------
      const ownerCtx = await browser.newContext({ viewport: DESKTOP });
      const owner = await ownerCtx.newPage();
      owner.on('pageerror', (e) => pageErrors.push(e.message));
      await owner.goto(url);
      await owner.locator('#login-open').click();
      await owner.locator('#login-password').fill('not the password');
      await owner.locator('#login-form button[type="submit"]').click();
      await expect.poll(() => owner.locator('#login-error').textContent(), { timeout: 15_000 }).toBe('wrong password');
      await owner.locator('#login-password').fill(PASSWORD);
      await owner.locator('#login-form button[type="submit"]').click();
      await expect.poll(() => owner.locator('#role-badge').textContent(), { timeout: 15_000 }).toBe('owner');
      const cookies = await ownerCtx.cookies();
      expect(cookies.find((c) => c.name === 'sd_session')).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
      await owner.locator('#channels li[data-channel="beta"] button.play').click();
      await waitFor('mpv to play beta', 20_000, async () => String(await mpv.getProperty<string>('path').catch(() => '')).includes('/live/beta'));
      await waitFor('mpv to show beta (352x288)', 20_000, async () => (await mpv.getProperty<number>('width').catch(() => 0)) === 352);
      console.log(`web: mpv path after the owner's switch: ${await mpv.getProperty<string>('path')}, media-title ${await mpv.getProperty<string>('media-title')}`);
      await expect.poll(() => owner.locator('#playing-name').textContent(), { timeout: 10_000 }).toBe('beta');
      await expect.poll(() => viewer.locator('#playing-name').textContent(), { timeout: 10_000 }).toBe('beta');
      // Domain join requests: this node manages no domain (a main node does), or rights are off.
      await expect.poll(() => owner.locator('#rights-off').isVisible(), { timeout: 10_000 }).toBe(true);
      await shot(owner, 'desktop-owner');

      // ---- the owner lets viewers switch; the viewer switches back to alpha ---------------------
      await owner.locator('#set-switch').check();
      await expect.poll(async () => (await status(tv))?.web?.viewersMaySwitch, { timeout: 5_000 }).toBe(true);
      await viewer.reload();
      const playAlpha = viewer.locator('#channels li[data-channel="alpha"] button.play');
      await playAlpha.waitFor({ timeout: 15_000 });
      await expect.poll(() => playAlpha.isEnabled(), { timeout: 5_000 }).toBe(true);
      await playAlpha.click();
      await waitFor('mpv to play alpha again', 20_000, async () => String(await mpv.getProperty<string>('path').catch(() => '')).includes('/live/alpha'));
      expect((await apiFromPage(viewer, 'drm.approve', { id: 'any' })).status).toBe(403);
      await shot(viewer, 'phone-viewer-may-switch');

      if (SHOTS) {
        await owner.setViewportSize(PHONE);
        await shot(owner, 'phone-owner');
        const loginCtx = await browser.newContext({ viewport: PHONE, deviceScaleFactor: 2, isMobile: true });
        const login = await loginCtx.newPage();
        await login.goto(url);
        await login.locator('#playing-name').waitFor({ timeout: 10_000 });
        await login.locator('#login-open').click();
        await shot(login, 'phone-login');
        const desk = await browser.newContext({ viewport: DESKTOP });
        const dv = await desk.newPage();
        await dv.goto(url);
        await expect.poll(() => chartPoints(dv), { timeout: 10_000 }).toBeGreaterThan(5);
        await shot(dv, 'desktop-viewer');
      }
      expect(pageErrors).toEqual([]);
    } finally {
      await mpv.close();
    }
  }, 240_000);

  it('a node that joined a channel but has not played shows continuity "–", in status and on its page, not 100 %', async () => {
    const dir = tempDir('sd-web-np-');
    const input = makeTestStream({ seconds: 20, bitrateKbps: 400, path: join(dir, 'g.ts') });
    const tracker = startProc('tracker', dir, ['tracker', '--listen', '127.0.0.1:0', '--log-level', 'warn']);
    procs.push(tracker);
    const t = (await waitUp(tracker, 10_000, 'tracker')).node.contact;
    const src = startProc('src-gamma', dir, ['publish', 'live', '--tracker', t, '--channel', 'gamma', '--input', input, '--loop', '--listen', '127.0.0.1:0', '--log-level', 'warn']);
    procs.push(src);
    await waitFor('source gamma publishing its first chunk', 10_000, () => chunksPublished(src), (n) => n >= 1);
    // The source stops sending (paused): the node joins the channel and nothing ever falls due.
    src.child.kill('SIGSTOP');
    const late = startProc('late', dir, ['node', '--tracker', t, '--listen', '127.0.0.1:0', '--watch', 'gamma', '--player', 'none', '--web', '127.0.0.1:0', '--log-level', 'warn']);
    procs.push(late);
    const joined = await waitFor('the node to join gamma as a viewer', 15_000, () => status(late), (s) => s.contents.some((c) => c.role === 'viewer') && (s.web?.urls.length ?? 0) > 0);
    const gamma = joined.contents.find((c) => c.role === 'viewer')!;
    expect(gamma.chunksDue).toBe(0);
    expect(gamma.continuityIndex).toBeNull();

    const text = spawnSync(process.execPath, [BUNDLE, 'status', '--control', late.control], { encoding: 'utf8' });
    expect(text.status, text.stderr).toBe(0);
    const lines = text.stdout.split('\n');
    const header = lines.findIndex((l) => l.startsWith('content'));
    const row = lines[header + 2] ?? '';
    expect(row.slice(lines[header]!.indexOf('continuity')).split(/\s+/)[0], `status table:\n${text.stdout}`).toBe('–');

    const b = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
    try {
      const page = await (await b.newContext({ viewport: PHONE })).newPage();
      await page.goto(joined.web!.urls[0]!);
      // The status is rendered (the heading shows the node), then two more status events arrive.
      await expect.poll(() => page.locator('#box-name').textContent(), { timeout: 15_000 }).toBe('superdist node');
      const points = await chartPoints(page);
      await expect.poll(() => chartPoints(page), { timeout: 15_000 }).toBeGreaterThanOrEqual(points + 2);
      expect(await page.locator('#t-continuity').textContent()).toBe('–');
      expect((await status(late))?.contents.find((c) => c.role === 'viewer')?.chunksDue).toBe(0);
    } finally {
      await b.close();
      src.child.kill('SIGCONT');
    }
  }, 90_000);
});
