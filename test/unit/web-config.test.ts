// The `web` configuration section: defaults, the --web flag's shape, errors naming the field, and
// when the page is on (auto: under the daemon only).
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/load.js';
import { webEnabled } from '../../src/web/start-web.js';

describe('web configuration', () => {
  it('defaults: auto (daemon only), port 8080, not on an internet uplink, viewers browse but do not switch', () => {
    const cfg = loadConfig({});
    expect(cfg.web).toMatchObject({ enabled: 'auto', listen: [], port: 8080, onUplink: false, viewersMayBrowse: true, viewersMaySwitch: false });
    expect(webEnabled(cfg, true)).toBe(true);
    expect(webEnabled(cfg, false)).toBe(false);
  });

  it('takes --web HOST:PORT as a list of one, a single string from the environment, and explicit on/off', () => {
    const flag = loadConfig({ flags: { web: { enabled: true, listen: ['0.0.0.0:8080'] } } });
    expect(flag.web.listen).toEqual(['0.0.0.0:8080']);
    expect(webEnabled(flag, false)).toBe(true);
    const env = loadConfig({ env: { SUPERDIST_WEB__LISTEN: '192.168.4.1:80', SUPERDIST_WEB__ENABLED: 'false' } });
    expect(env.web.listen).toEqual(['192.168.4.1:80']);
    expect(webEnabled(env, true)).toBe(false);
  });

  it('refuses bad values with the field named', () => {
    expect(() => loadConfig({ sets: ['web.listen="nowhere"'] })).toThrow(ConfigError);
    expect(() => loadConfig({ sets: ['web.listen="nowhere"'] })).toThrow(/web\.listen/);
    expect(() => loadConfig({ sets: ['web.port=70000'] })).toThrow(/web\.port/);
    expect(() => loadConfig({ sets: ['web.enabled="maybe"'] })).toThrow(/web\.enabled/);
    expect(() => loadConfig({ sets: ['web.password="x"'] })).toThrow(/password/);
  });
});
