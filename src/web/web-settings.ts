// The owner's settings made on the page (viewers may browse / switch / watch on phones), kept in
// STATE_DIR/web-settings.json; the configuration gives the values until the owner changes them.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ViewerSettings } from './method-policy.js';

export const SETTINGS_FILE = 'web-settings.json';
const KEYS = ['viewersMayBrowse', 'viewersMaySwitch', 'viewersMayWatch'] as const;

export class WebSettings {
  private value: ViewerSettings;

  constructor(
    private readonly stateDir: string,
    defaults: ViewerSettings,
    onWarning: (message: string) => void = () => undefined,
  ) {
    this.value = { ...defaults };
    try {
      const saved = JSON.parse(readFileSync(join(stateDir, SETTINGS_FILE), 'utf8')) as Record<string, unknown>;
      for (const k of KEYS) if (typeof saved[k] === 'boolean') this.value[k] = saved[k];
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') onWarning(`ignoring ${join(stateDir, SETTINGS_FILE)}: ${(err as Error).message}`);
    }
  }

  get(): ViewerSettings {
    return { ...this.value };
  }

  /** Applies the known boolean fields of `patch`; anything else is an error naming the field. */
  update(patch: Record<string, unknown>): ViewerSettings {
    for (const [k, v] of Object.entries(patch)) {
      if (!(KEYS as readonly string[]).includes(k)) throw new Error(`unknown setting ${JSON.stringify(k)}; known: ${KEYS.join(', ')}`);
      if (typeof v !== 'boolean') throw new Error(`setting ${k}: expected true or false`);
    }
    const next = { ...this.value, ...(patch as Partial<ViewerSettings>) };
    mkdirSync(this.stateDir, { recursive: true });
    const path = join(this.stateDir, SETTINGS_FILE);
    writeFileSync(`${path}.tmp`, `${JSON.stringify(next, null, 2)}\n`, { mode: 0o600 });
    renameSync(`${path}.tmp`, path);
    this.value = next;
    return this.get();
  }
}
