// The secrets a box keeps on disk, all in its state directory: channel signing keys (channels/),
// DRM device keys, domain keys, rights objects and play counters (drm/), the web owner's credential
// (web-owner.json) and the web page's TLS key and certificate (web-tls/). Each is written 0600 in a
// 0700 directory by the service's user; `superdist doctor` lists any that others may read, or that
// another user owns (secretProblems).
import { lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/** Secret locations, relative to the state directory (a file or a directory walked whole). */
export const SECRET_PATHS = ['channels', 'drm', 'web-owner.json', 'web-tls'] as const;
/** Walk no deeper or wider than this (a state directory holds a few hundred files at most). */
const MAX_ENTRIES = 5000;

export interface SecretEntry {
  path: string;
  /** Permission bits (mode & 0o777). */
  mode: number;
  uid: number;
  dir: boolean;
}

/** The secret files and directories that exist under `stateDir` (symbolic links are not followed). */
export function listSecretEntries(stateDir: string): SecretEntry[] {
  const out: SecretEntry[] = [];
  const visit = (path: string): void => {
    if (out.length >= MAX_ENTRIES) return;
    let st;
    try {
      st = lstatSync(path);
    } catch {
      return;
    }
    if (!st.isDirectory() && !st.isFile()) return;
    out.push({ path, mode: st.mode & 0o777, uid: st.uid, dir: st.isDirectory() });
    if (!st.isDirectory()) return;
    let names: string[] = [];
    try {
      names = readdirSync(path);
    } catch {
      return;
    }
    for (const n of names.sort()) visit(join(path, n));
  };
  for (const p of SECRET_PATHS) visit(join(stateDir, p));
  return out;
}

const octal = (m: number): string => m.toString(8).padStart(4, '0');

/**
 * What is wrong with the secrets' modes and owners: a file others (group or world) may read or
 * write, a directory others may enter, or an entry not owned by `ownerUid` (the state directory's owner).
 */
export function secretProblems(entries: SecretEntry[], ownerUid: number): string[] {
  const problems: string[] = [];
  for (const e of entries) {
    const want = e.dir ? 0o700 : 0o600;
    if (e.mode & 0o077) problems.push(`${e.path} is ${octal(e.mode)} (want ${octal(want)})`);
    if (e.uid !== ownerUid) problems.push(`${e.path} is owned by uid ${e.uid}, not the state directory's owner (uid ${ownerUid})`);
  }
  return problems;
}
