// The JSON IPC client against a real headless mpv, and against a fake socket server for input mpv
// would never send.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MPV_MAX_LINE_CHARS, MpvCommandError, MpvIpc, type MpvIpcWarning, type MpvRawEvent } from '../../src/player/mpv-ipc.js';
import { waitFor } from '../support/wait-for.js';

const dir = mkdtempSync(join(tmpdir(), 'mpv-ipc-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const FAST = { everyMs: 20 };

/** SIGSTOPs `p` and waits until the kernel reports it stopped (every thread parked). */
async function stopped(p: ChildProcess): Promise<void> {
  p.kill('SIGSTOP');
  await waitFor('mpv to stop', 2000, () => /State:\s+T/.test(readFileSync(`/proc/${p.pid}/status`, 'utf8')), FAST);
}

async function connectWhenUp(path: string): Promise<MpvIpc> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      return await MpvIpc.connect(path);
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 25));
    }
  }
}

describe('MpvIpc against mpv', () => {
  const sock = join(dir, 'mpv.sock');
  let mpv: ChildProcess;
  let ipc: MpvIpc;
  const events: MpvRawEvent[] = [];
  const warnings: MpvIpcWarning[] = [];

  beforeAll(async () => {
    mpv = spawn('mpv', ['--idle=yes', '--vo=null', '--ao=null', `--input-ipc-server=${sock}`, '--no-config', '--msg-level=all=error'], {
      stdio: 'ignore',
    });
    ipc = await connectWhenUp(sock);
    ipc.on('event', (e) => events.push(e));
    ipc.on('warning', (w) => warnings.push(w));
  });

  afterAll(async () => {
    ipc?.close();
    if (mpv && mpv.exitCode === null) {
      mpv.kill('SIGCONT');
      mpv.kill('SIGKILL');
      await new Promise((r) => mpv.once('exit', r));
    }
  });

  it('gets and sets properties', async () => {
    expect(await ipc.getProperty('mpv-version')).toMatch(/^mpv \d+\.\d+/);
    await ipc.setProperty('volume', 42);
    expect(await ipc.getProperty('volume')).toBe(42);
    await ipc.setProperty('pause', true);
    expect(await ipc.getProperty('pause')).toBe(true);
    await ipc.setProperty('pause', false);
  });

  it('delivers property-change events for observed properties', async () => {
    const changes: { id: number; name: string; value: unknown }[] = [];
    ipc.on('property-change', (c) => changes.push(c));
    const id = await ipc.observeProperty('volume');
    await waitFor('the initial value', 2000, () => changes.find((c) => c.id === id && c.value === 42), () => true, FAST);
    await ipc.setProperty('volume', 55);
    const c = await waitFor('the change', 2000, () => changes.find((x) => x.id === id && x.value === 55), () => true, FAST);
    expect(c.name).toBe('volume');
    await ipc.unobserveProperty(id);
  });

  it('rejects a failing command with a clear error', async () => {
    await expect(ipc.command('no_such_command')).rejects.toThrow('mpv command "no_such_command" failed: invalid parameter');
    await expect(ipc.getProperty('no-such-property')).rejects.toThrow('mpv command "get_property" failed: property not found');
    const err = await ipc.getProperty('playback-time').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MpvCommandError);
    expect(err).toMatchObject({ kind: 'failed', mpvError: 'property unavailable', command: 'get_property' });
  });

  it('loads a file with the named-argument loadfile and reports its events', async () => {
    const ends: { reason: string; fileError?: string }[] = [];
    ipc.on('end-file', (e) => ends.push(e));
    let restarts = 0;
    ipc.on('playback-restart', () => restarts++);
    await ipc.loadfile('av://lavfi:testsrc=size=160x120:rate=25:duration=30');
    await waitFor('playback-restart', 5000, () => restarts > 0, FAST);
    const names = events.map((e) => e.event);
    expect(names).toEqual(expect.arrayContaining(['start-file', 'file-loaded', 'playback-restart']));
    expect(typeof (await ipc.getProperty('playback-time'))).toBe('number');
    await ipc.command('stop');
    await waitFor('end-file stop', 3000, () => ends.find((e) => e.reason === 'stop'), () => true, FAST);
    await ipc.loadfile(join(dir, 'missing.ts'));
    const failed = await waitFor('end-file error', 3000, () => ends.find((e) => e.reason === 'error'), () => true, FAST);
    expect(failed.fileError).toBe('loading failed');
    await waitFor('idle', 3000, () => events.at(-1)?.event === 'idle', FAST);
  });

  it('times out a command mpv does not answer, then works again', async () => {
    await stopped(mpv);
    try {
      const t = Date.now();
      await expect(ipc.request(['get_property', 'volume'], 300)).rejects.toThrow('mpv command "get_property": no answer within 300 ms');
      expect(Date.now() - t).toBeGreaterThanOrEqual(290);
    } finally {
      mpv.kill('SIGCONT');
    }
    expect(await ipc.getProperty('volume')).toBe(55);
    await new Promise((r) => setTimeout(r, 100));
    expect(warnings).toEqual([]); // the late answer to the timed-out request is ignored quietly
  });

  it('rejects what is pending when the connection closes, and later commands', async () => {
    await stopped(mpv);
    const pending = ipc.getProperty('volume');
    ipc.close();
    mpv.kill('SIGCONT');
    await expect(pending).rejects.toMatchObject({ kind: 'closed' });
    await expect(ipc.command('stop')).rejects.toThrow(/IPC connection is closed/);
    expect(ipc.closed).toBe(true);
  });
});

describe('MpvIpc against a misbehaving socket', () => {
  const path = join(dir, 'fake.sock');
  let server: Server;
  let peer: Socket | undefined;
  const received: string[] = [];

  beforeAll(async () => {
    server = createServer((s) => {
      peer = s;
      s.setEncoding('utf8');
      s.on('data', (d: string) => received.push(...d.split('\n').filter(Boolean)));
    });
    await new Promise<void>((r) => server.listen(path, r));
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('reports malformed lines as warnings and keeps going', async () => {
    const ipc = await MpvIpc.connect(path, { timeoutMs: 1000 });
    const warnings: MpvIpcWarning[] = [];
    const events: string[] = [];
    ipc.on('warning', (w) => warnings.push(w));
    ipc.on('event', (e) => events.push(e.event));
    await waitFor('the server side', 2000, () => peer, () => true, FAST);
    const answer = ipc.getProperty('volume');
    await waitFor('the request', 2000, () => received[0], () => true, FAST);
    const req = JSON.parse(received[0]!) as { request_id: number; command: unknown };
    expect(req.command).toEqual(['get_property', 'volume']);
    peer!.write('garbage that is not json\n');
    peer!.write('[1,2,3]\n\n   \n');
    peer!.write('{"neither":"event nor reply"}\n');
    peer!.write('{"request_id":999,"error":"success"}\n');
    peer!.write('{"event":"id'); // an event split across writes
    await new Promise((r) => setTimeout(r, 20));
    peer!.write('le"}\n{"event":"end-file","reason":"eof","playlist_entry_id":3}\n');
    peer!.write(`{"event":"${'x'.repeat(MPV_MAX_LINE_CHARS + 10)}`);
    peer!.write('"}\n');
    peer!.write(`${JSON.stringify({ request_id: req.request_id, error: 'success', data: 7 })}\n`);
    expect(await answer).toBe(7);
    expect(events.map((e) => e.slice(0, 20))).toEqual(['idle', 'end-file']);
    expect(warnings.map((w) => w.code)).toEqual(['malformed-line', 'malformed-line', 'malformed-line', 'unexpected-reply', 'line-too-long']);
    expect(warnings[0]!.message).toContain('garbage that is not json');
    expect(ipc.malformedLines).toBe(4); // the unexpected reply is well-formed
    ipc.close();
  });

  it('times out when nothing answers', async () => {
    const ipc = await MpvIpc.connect(path, { timeoutMs: 150 });
    await expect(ipc.command('get_property', 'volume')).rejects.toThrow('mpv command "get_property": no answer within 150 ms');
    ipc.close();
  });

  it('says clearly when there is no socket', async () => {
    await expect(MpvIpc.connect(join(dir, 'nothing.sock'))).rejects.toThrow(/cannot connect to mpv IPC socket .*nothing\.sock: ENOENT/);
  });
});
