// Remote administrators reach the control socket through its group: the control server creates
// the socket 0660, and the daemon hands it to the `superdist` group when that group exists.
import { chownSync, readFileSync } from 'node:fs';

export const CONTROL_GROUP = 'superdist';

/** The group's id from an /etc/group-format file (Node has no getgrnam); undefined if absent. */
export function lookupGroupId(name: string, groupFile = '/etc/group'): number | undefined {
  let text: string;
  try {
    text = readFileSync(groupFile, 'utf8');
  } catch {
    return undefined;
  }
  for (const line of text.split('\n')) {
    const [group, , gid] = line.split(':');
    if (group === name && gid !== undefined && /^\d+$/.test(gid)) return Number(gid);
  }
  return undefined;
}

export type ShareResult =
  | { result: 'shared'; gid: number }
  | { result: 'no-group' }
  | { result: 'failed'; gid: number; error: string };

/** Gives `path` to group `group` (owner unchanged). Never throws. */
export function shareWithGroup(path: string, group: string, groupFile?: string): ShareResult {
  const gid = lookupGroupId(group, groupFile);
  if (gid === undefined) return { result: 'no-group' };
  try {
    chownSync(path, -1, gid);
    return { result: 'shared', gid };
  } catch (err) {
    return { result: 'failed', gid, error: (err as Error).message };
  }
}
