// Builds the one-file bundle once before the tests run; tests that spawn processes use it.
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

export default function setup(): void {
  const r = spawnSync(process.execPath, ['esbuild.config.mjs'], { cwd: root, encoding: 'utf8' });
  if (r.status !== 0) {
    // Leave no stale bundle behind: the process tests then fail saying the bundle is missing.
    rmSync(`${root}/dist/superdist.cjs`, { force: true });
    process.stderr.write(`global setup: bundle build failed; process tests will fail:\n${r.stderr.slice(0, 2000)}\n`);
  }
}
