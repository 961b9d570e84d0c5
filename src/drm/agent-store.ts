// What the DRM agent keeps in STATE/drm/: installed rights objects (ros/<id>.json with the RI
// certificate), domain keys (domains/<id>.json), play counters (usage.json) and the rights issuers
// this device registered with (registrations.json). Every write is atomic (atomic-file.ts), so a
// counter survives a crash or a restart: a play is recorded before its key is handed out.
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { readJsonFile, writeJsonAtomic } from './atomic-file.js';
import type { UsageState } from './constraints.js';
import type { Certificate } from './certificate.js';
import type { DomainKeyGrant } from './domain-key.js';
import type { RightsObject } from './rights-object.js';

export interface StoredRo {
  ro: RightsObject;
  ri: Certificate;
}

export interface StoredDomain {
  grant: DomainKeyGrant;
  ri: Certificate;
}

function safe(id: string): string {
  if (!/^[A-Za-z0-9_-]{1,100}$/.test(id)) throw new Error(`unsafe id ${JSON.stringify(id)}`);
  return id;
}

export class AgentStore {
  constructor(private readonly dir: string) {
    mkdirSync(join(dir, 'ros'), { recursive: true, mode: 0o700 });
    mkdirSync(join(dir, 'domains'), { recursive: true, mode: 0o700 });
  }

  ros(): StoredRo[] {
    return readdirSync(join(this.dir, 'ros'))
      .filter((f) => f.endsWith('.json'))
      .sort()
      .map((f) => readJsonFile(join(this.dir, 'ros', f)) as StoredRo);
  }

  saveRo(s: StoredRo): void {
    writeJsonAtomic(join(this.dir, 'ros', `${safe(s.ro.id)}.json`), s);
  }

  domains(): StoredDomain[] {
    return readdirSync(join(this.dir, 'domains'))
      .filter((f) => f.endsWith('.json'))
      .map((f) => readJsonFile(join(this.dir, 'domains', f)) as StoredDomain);
  }

  domain(id: string): StoredDomain | undefined {
    return readJsonFile(join(this.dir, 'domains', `${safe(id)}.json`)) as StoredDomain | undefined;
  }

  saveDomain(s: StoredDomain): void {
    writeJsonAtomic(join(this.dir, 'domains', `${safe(s.grant.domainId)}.json`), s);
  }

  removeDomain(id: string): void {
    rmSync(join(this.dir, 'domains', `${safe(id)}.json`), { force: true });
  }

  usage(roId: string): UsageState {
    const all = (readJsonFile(join(this.dir, 'usage.json')) ?? {}) as Record<string, UsageState>;
    return all[roId] ?? { plays: 0 };
  }

  saveUsage(roId: string, u: UsageState): void {
    const file = join(this.dir, 'usage.json');
    const all = (readJsonFile(file) ?? {}) as Record<string, UsageState>;
    all[roId] = u;
    writeJsonAtomic(file, all);
  }

  registered(riId: string): boolean {
    const r = (readJsonFile(join(this.dir, 'registrations.json')) ?? {}) as Record<string, string>;
    return riId in r;
  }

  saveRegistered(riId: string): void {
    const file = join(this.dir, 'registrations.json');
    const r = (readJsonFile(file) ?? {}) as Record<string, string>;
    r[riId] = new Date().toISOString();
    writeJsonAtomic(file, r);
  }
}
