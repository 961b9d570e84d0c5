import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { controlCall } from '../../src/control/control-client.js';
import { ControlServer } from '../../src/control/control-server.js';

const servers: ControlServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

function sockPath(): string {
  return join(mkdtempSync(join(tmpdir(), 'sd-ctl-')), 'control.sock');
}

async function start(path: string): Promise<ControlServer> {
  const s = new ControlServer(path, {
    echo: (p) => p,
    boom: () => {
      throw new Error('it broke');
    },
  });
  await s.listen();
  servers.push(s);
  return s;
}

describe('control API over a unix socket', () => {
  it('answers calls, reports handler errors and unknown methods by name', async () => {
    const path = sockPath();
    await start(path);
    expect(await controlCall(path, 'echo', { a: 1 })).toEqual({ a: 1 });
    await expect(controlCall(path, 'boom')).rejects.toThrow('it broke');
    await expect(controlCall(path, 'nope')).rejects.toThrow(/unknown method "nope"/);
  });

  it('creates the socket with mode 0660 and replaces a stale socket left by a killed process', async () => {
    const path = sockPath();
    const first = await start(path);
    expect(statSync(path).mode & 0o777).toBe(0o660);
    // Simulate a crash: the file stays but nobody listens.
    servers.splice(servers.indexOf(first), 1);
    await new Promise<void>((r) => (first as unknown as { server: { close(cb: () => void): void } }).server.close(() => r()));
    await start(path);
    expect(await controlCall(path, 'echo', { ok: true })).toEqual({ ok: true });
  });

  it('refuses to remove a regular file at the socket path', async () => {
    const path = sockPath();
    writeFileSync(path, 'precious');
    await expect(new ControlServer(path, {}).listen()).rejects.toThrow(/not a socket/);
    expect(statSync(path).isFile()).toBe(true);
  });

  it('answers garbage with an error and keeps serving', async () => {
    const path = sockPath();
    await start(path);
    const reply = await new Promise<string>((resolve) => {
      const c = createConnection(path);
      c.setEncoding('utf8');
      c.on('data', (d: string) => {
        resolve(d);
        c.destroy();
      });
      c.write('this is not json\n');
    });
    expect(JSON.parse(reply)).toEqual({ id: 0, error: 'request is not valid JSON' });
    expect(await controlCall(path, 'echo', { still: 'here' })).toEqual({ still: 'here' });
  });

  it('tells the user when no service listens', async () => {
    await expect(controlCall(sockPath(), 'status')).rejects.toThrow(/no superdist service is listening/);
  });
});
