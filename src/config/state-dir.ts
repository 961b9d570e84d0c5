// Where the state directory is when the configuration names none: the schema's default
// (/var/lib/superdist) for root and for a user who may write there (the appliance's `superdist`
// user); any other user gets a per-user one, $XDG_STATE_HOME/superdist (~/.local/state/superdist).
import { accessSync, constants, existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';

export interface StateDirProbe {
  uid: number;
  env: NodeJS.ProcessEnv;
  /** May this process create entries in `dir` (an existing directory)? */
  writable(dir: string): boolean;
  exists(path: string): boolean;
  home(): string;
}

/** Whether this process may create and remove entries in `dir`. */
export function dirWritable(dir: string): boolean {
  try {
    accessSync(dir, constants.W_OK | constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function systemStateDirProbe(env: NodeJS.ProcessEnv = process.env): StateDirProbe {
  return {
    uid: process.getuid?.() ?? 0,
    env,
    writable: dirWritable,
    exists: existsSync,
    home: homedir,
  };
}

/** $XDG_STATE_HOME/superdist, or ~/.local/state/superdist when it is unset or relative. */
export function perUserStateDir(probe: StateDirProbe): string {
  const xdg = probe.env.XDG_STATE_HOME;
  return join(xdg && isAbsolute(xdg) ? xdg : join(probe.env.HOME || probe.home(), '.local', 'state'), 'superdist');
}

/** Is the system directory usable: root, or writable, or creatable in its (writable) parent. */
function systemDirUsable(systemDir: string, probe: StateDirProbe): boolean {
  if (probe.uid === 0) return true;
  if (probe.exists(systemDir)) return probe.writable(systemDir);
  return probe.writable(dirname(systemDir));
}

export interface DefaultStateDir {
  dir: string;
  /** Why the per-user directory is used; undefined for the system one. */
  note?: string;
}

/** `systemDir` (the schema's default) when usable, else the per-user directory and why. */
export function defaultStateDir(systemDir: string, probe: StateDirProbe): DefaultStateDir {
  if (systemDirUsable(systemDir, probe)) return { dir: systemDir };
  const dir = perUserStateDir(probe);
  return { dir, note: `${systemDir} is not writable for uid ${probe.uid}: using the per-user state directory ${dir} (--state-dir DIR chooses another)` };
}

/** What a service logs at start when it runs on the per-user directory; undefined otherwise. */
export function perUserNote(dir: string, probe: StateDirProbe): string | undefined {
  if (probe.uid === 0 || dir !== perUserStateDir(probe)) return undefined;
  return `using the per-user state directory ${dir} (uid ${probe.uid} may not write the system one; --state-dir DIR chooses another)`;
}
