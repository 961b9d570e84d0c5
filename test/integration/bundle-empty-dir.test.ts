// dist/superdist.cjs carries every pure-JS dependency: copied alone into an empty directory (no
// node_modules anywhere above it) it prints its version, checks a configuration and runs the
// daemon; the only modules it still requires are Node's own and the optional native addons.
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BUNDLE, tempDir, waitUp } from '../support/processes.js';

/**
 * Optional at run time: native addons kept external, systeminformation's macOS-only sensors, pg's
 * libpq binding (required only through `pg.native`, which the rights issuer never touches) and
 * node-redis's OpenTelemetry hook (required only by `OpenTelemetry.init`, never called).
 */
const ALLOWED_EXTERNAL = ['@abandonware/bluetooth-hci-socket', 'usb', 'osx-temperature-sensor', 'macos-temperature-sensor', 'pg-native', '@opentelemetry/api'];

const kill: Array<() => void> = [];
afterAll(() => kill.forEach((k) => k()));

describe('the one-file bundle', () => {
  it('requires nothing but Node built-ins and the optional externals', () => {
    const src = readFileSync(BUNDLE, 'utf8');
    const required = new Set([...src.matchAll(/\brequire\(\s*["']([^"']+)["']\s*\)/g)].map((m) => m[1] as string));
    const foreign = [...required].filter((m) => !m.startsWith('node:') && !builtinModules.includes(m));
    expect(foreign.filter((m) => !ALLOWED_EXTERNAL.includes(m))).toEqual([]);
  });

  it('runs from an empty directory: --version, daemon --check, daemon + status', async () => {
    // /tmp has no node_modules above it; HOME and NODE_PATH point nowhere useful.
    const dir = tempDir('sd-bundle-');
    const bundle = join(dir, 'superdist.cjs');
    copyFileSync(BUNDLE, bundle);
    // SD_TEST_RUN: the leftover-process check (test/support/leftover-processes.ts) sees the daemon.
    const env = { PATH: process.env.PATH, HOME: dir, NODE_PATH: '', SD_TEST_RUN: process.env.SD_TEST_RUN };
    const run = (args: string[]) => spawnSync(process.execPath, [bundle, ...args], { cwd: dir, env, encoding: 'utf8', timeout: 20_000 });

    const version = run(['--version']);
    expect(version.status).toBe(0);
    expect(version.stdout.trim()).toBe(JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version);

    const control = join(dir, 'control.sock');
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ listen: '127.0.0.1:0', control, stateDir: join(dir, 'state') }));
    const check = run(['daemon', '--config', 'config.json', '--check']);
    expect(check.stdout).toBe('configuration config.json: valid (role node)\n');
    expect(check.status).toBe(0);
    writeFileSync(join(dir, 'bad.json'), JSON.stringify({ node: { role: 'king' } }));
    const bad = run(['daemon', '--config', 'bad.json', '--check']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/node\.role: value "king" from config file bad\.json/);

    const daemon = spawn(process.execPath, [bundle, 'daemon', '--config', 'config.json'], { cwd: dir, env, stdio: 'ignore' });
    kill.push(() => daemon.kill('SIGKILL'));
    const s = await waitUp({ control }, 15_000, 'the daemon from the empty directory');
    expect(s.node.version).toBe(version.stdout.trim());
    daemon.kill('SIGTERM');
    expect(await new Promise((r) => daemon.once('exit', r))).toBe(0);
  });
});
