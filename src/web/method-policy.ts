// Who may call which control method from the web page. The methods themselves are the control API's
// (the same handlers the unix socket serves); this only decides who may reach them over HTTP.
import type { Role } from './sessions.js';

/**
 * browse: viewers when the owner lets them browse; switch: viewers when allowed to switch; watch (a
 * channel on a phone, HLS): viewers when allowed to browse and to watch; owner.
 */
export type Need = 'browse' | 'switch' | 'watch' | 'owner';

export const METHOD_NEEDS: Readonly<Record<string, Need>> = {
  status: 'browse',
  peers: 'browse',
  channels: 'browse',
  members: 'owner',
  play: 'switch',
  stop: 'switch',
  join: 'owner',
  leave: 'owner',
  'drm.pending': 'owner',
  'drm.approve': 'owner',
  'drm.deny': 'owner',
};

export interface ViewerSettings {
  viewersMayBrowse: boolean;
  viewersMaySwitch: boolean;
  viewersMayWatch: boolean;
}

export type Permission = { ok: true } | { ok: false; status: 401 | 403; error: string };

/** Methods not listed above are the owner's. */
export function needOf(method: string): Need {
  return Object.hasOwn(METHOD_NEEDS, method) ? (METHOD_NEEDS[method] as Need) : 'owner';
}

export function permission(need: Need, role: Role, s: ViewerSettings): Permission {
  if (role === 'owner') return { ok: true };
  if (need === 'browse' && s.viewersMayBrowse) return { ok: true };
  if (need === 'switch' && s.viewersMaySwitch) return { ok: true };
  if (need === 'watch' && s.viewersMayBrowse && s.viewersMayWatch) return { ok: true };
  const what =
    need === 'owner'
      ? 'only the owner may do this'
      : need === 'switch'
        ? 'the owner has not allowed viewers to switch channels'
        : need === 'watch' && s.viewersMayBrowse
          ? 'the owner has turned phone viewing off'
          : 'the owner has not allowed viewers to browse';
  return { ok: false, status: 403, error: `${what}: log in as the owner` };
}
