// The update agent's state in STATE/update/agent.json, written durably (temporary file, fsync,
// rename, directory fsync): a power cut keeps the old state or the new one, never a torn file.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../platform/durable-file.js';
import type { AgentState, AgentStore } from './update-agent.js';

export function updateDir(stateDir: string): string {
  return join(stateDir, 'update');
}

export class FileAgentStore implements AgentStore {
  readonly file: string;

  constructor(dir: string) {
    this.file = join(dir, 'agent.json');
  }

  load(): unknown {
    try {
      return JSON.parse(readFileSync(this.file, 'utf8')) as unknown;
    } catch {
      // none yet, or unreadable: start from idle (the committed slot is what runs either way)
      return undefined;
    }
  }

  save(s: AgentState): void {
    writeFileAtomic(this.file, `${JSON.stringify(s, null, 2)}\n`);
  }
}
