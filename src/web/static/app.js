// The box page: channel list and TV switching, live status over server-sent events, the chart,
// peers, downloads and, for the owner, domain join requests and viewer settings. Every action goes
// through POST /api/call {method, params}: the control API's own methods.
import { drawChart, formatBits } from './chart.js';
import { refreshPhoneRequests, setApi, stopWatching, watch } from './watch.js';
import { refreshUpdate, setUpdateApi } from './updates.js';

const $ = (id) => document.getElementById(id);
const state = { session: null, status: null, samples: [], channels: null, events: null };

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (v === true) e.setAttribute(k, '');
    else if (v !== false && v != null) e.setAttribute(k, String(v));
  }
  for (const c of children) if (c != null) e.append(c);
  return e;
}

function notice(text) {
  const n = $('notice');
  n.textContent = text || '';
  n.hidden = !text;
}

async function api(path, body) {
  const init = body === undefined ? {} : {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': state.session?.csrf ?? '' },
    body: JSON.stringify(body),
  };
  const res = await fetch(path, { credentials: 'same-origin', ...init });
  let data = {};
  try {
    data = await res.json();
  } catch {
    // empty body
  }
  if (!res.ok) {
    // A session that ended (idle, password changed, box restarted): start a new one.
    if (res.status === 401 && path === '/api/call') setTimeout(() => loadSession(), 0);
    const err = new Error(data.error || `${res.status} ${res.statusText}`);
    err.status = res.status;
    throw err;
  }
  return data;
}

const call = async (method, params = {}) => (await api('/api/call', { method, params })).result;
setApi(api);
setUpdateApi(call);
const may = (method) => state.session?.methods.includes(method);
const isOwner = () => state.session?.role === 'owner';
const mayWatch = () => isOwner() || (state.session?.settings.viewersMayBrowse && state.session?.settings.viewersMayWatch);

// ---- session ----------------------------------------------------------------------------------

async function loadSession() {
  state.session = await api('/api/session');
  const s = state.session;
  $('role-badge').textContent = s.role;
  $('role-badge').classList.toggle('owner', s.role === 'owner');
  $('login-open').hidden = s.role === 'owner';
  $('logout').hidden = s.role !== 'owner';
  $('owner-card').hidden = s.role !== 'owner';
  $('set-browse').checked = s.settings.viewersMayBrowse;
  $('set-switch').checked = s.settings.viewersMaySwitch;
  $('set-watch').checked = s.settings.viewersMayWatch;
  if (!mayWatch()) stopWatching();
  refreshPhoneRequests(s.role === 'owner');
  $('switch-hint').hidden = may('play');
  $('stop').disabled = !may('stop');
  if (!may('status')) notice('The owner has not opened this page to viewers. Log in as the owner.');
  else notice('');
  startEvents();
  refreshChannels();
  refreshPeers();
  refreshPending();
  refreshUpdate(isOwner());
}

function openLogin() {
  // Over plain HTTP beside the box's HTTPS page: the password is typed only on the HTTPS page.
  if (location.protocol === 'http:' && state.session?.https) {
    location.href = state.session.https;
    return;
  }
  const setup = !state.session?.ownerSet;
  $('login-form').hidden = setup;
  $('setup-form').hidden = !setup;
  $('login-error').hidden = true;
  $('setup-error').hidden = true;
  $('login-dialog').showModal();
  (setup ? $('setup-code') : $('login-password')).focus();
}

function showError(id, err) {
  $(id).textContent = err.message;
  $(id).hidden = false;
}

async function login(ev) {
  ev.preventDefault();
  try {
    await api('/api/login', { password: $('login-password').value });
    $('login-password').value = '';
    $('login-dialog').close();
    await loadSession();
  } catch (err) {
    showError('login-error', err);
  }
}

async function setup(ev) {
  ev.preventDefault();
  if ($('setup-password').value !== $('setup-again').value) return showError('setup-error', new Error('the two passwords differ'));
  try {
    await api('/api/setup', { code: $('setup-code').value, password: $('setup-password').value });
    for (const id of ['setup-code', 'setup-password', 'setup-again']) $(id).value = '';
    $('login-dialog').close();
    await loadSession();
  } catch (err) {
    showError('setup-error', err);
  }
}

async function logout() {
  await api('/api/logout', {}).catch(() => undefined);
  await loadSession();
}

async function saveSettings() {
  try {
    await api('/api/settings', { viewersMayBrowse: $('set-browse').checked, viewersMaySwitch: $('set-switch').checked, viewersMayWatch: $('set-watch').checked });
    await loadSession();
  } catch (err) {
    notice(err.message);
  }
}

// ---- live status ------------------------------------------------------------------------------

function startEvents() {
  state.events?.close();
  state.events = null;
  if (!may('status')) return;
  const es = new EventSource('/api/events');
  state.events = es;
  es.addEventListener('open', () => $('live-dot').classList.add('on'));
  es.addEventListener('error', () => $('live-dot').classList.remove('on'));
  es.addEventListener('history', (e) => {
    state.samples = JSON.parse(e.data).samples;
    drawChart($('chart'), state.samples);
  });
  es.addEventListener('status', (e) => {
    const { status, sample } = JSON.parse(e.data);
    state.status = status;
    if (sample) {
      state.samples.push(sample);
      if (state.samples.length > 3600) state.samples.shift();
    }
    renderStatus(status, sample);
    drawChart($('chart'), state.samples);
  });
  es.addEventListener('denied', () => {
    es.close();
    loadSession();
  });
}

function watched(s) {
  return s.contents.find((c) => c.watching) ?? s.contents.find((c) => c.role === 'viewer');
}

function setTile(id, text, cls) {
  const t = $(id);
  t.textContent = text;
  t.className = `v${cls ? ` ${cls}` : ''}`;
}

function bytes(n) {
  if (!(n >= 0)) return '–';
  if (n >= 1 << 30) return `${(n / (1 << 30)).toFixed(1)} GiB`;
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(1)} MiB`;
  if (n >= 1 << 10) return `${(n / (1 << 10)).toFixed(0)} KiB`;
  return `${n} B`;
}

function renderStatus(s, sample) {
  $('box-name').textContent = s.node.name || `superdist ${s.node.role}`;
  const roles = $('roles');
  roles.replaceChildren(el('span', { class: 'badge' }, s.node.role));
  if (s.uplink) roles.append(el('span', { class: 'badge' }, `uplink ${s.uplink.interface} ${s.uplink.up ? 'up' : 'down'}`));
  if (s.segment) roles.append(el('span', { class: 'badge' }, `segment ${s.segment.interface} · ${s.segment.tracker}`));
  if (s.discovery) roles.append(el('span', { class: 'badge' }, 'local node'));
  const w = watched(s);
  const cont = w?.continuityIndex;
  setTile('t-partners', w ? String(w.partners) : '–');
  setTile('t-continuity', cont == null ? '–' : `${(cont * 100).toFixed(1)} %`, cont == null ? '' : cont >= 0.99 ? 'good' : cont >= 0.95 ? 'warn' : 'bad');
  setTile('t-lag', w?.lagMs == null ? '–' : `${(w.lagMs / 1000).toFixed(1)} s`);
  setTile('t-in', sample ? formatBits(sample.inBps * 8) : '–');
  setTile('t-out', sample ? formatBits(sample.outBps * 8) : '–');
  setTile('t-members', String(s.members));
  const m = s.memory;
  $('t-mem-meter').value = m.budgetBytes ? Math.min(1, m.bufferBytes / m.budgetBytes) : 0;
  setTile('t-mem', `${bytes(m.bufferBytes)} of ${bytes(m.budgetBytes)} · process ${bytes(m.rssBytes)}`, 'small');
  // A channel, or a download played on demand (s.vod: buffering while it waits for pieces).
  const playing = w?.watching ?? (s.vod ? { name: s.vod.state === 'buffering' ? `${s.vod.name} (buffering)` : s.vod.name } : undefined);
  $('now-playing').replaceChildren(...(playing ? ['Playing ', el('strong', { id: 'playing-name' }, playing.name)] : ['Nothing is playing']));
  if (state.channels) $('stop').disabled = !may('stop') || !(state.channels.playing || s.vod);
  if (state.channels && playing?.contentId !== state.channels.playing?.contentId) refreshChannels();
  renderDownloads(s);
  const seg = s.segment;
  $('segment-info').textContent = seg
    ? `Local tracker: ${seg.tracker}${seg.leader ? ` (${seg.leader.contact})` : ''} · ${seg.connections} connections`
    : s.discovery ? 'Local node on the segment' : `${s.net.connections ?? 0} connections`;
}

function renderDownloads(s) {
  const list = $('downloads');
  const items = s.contents.filter((c) => c.download).map((c) => {
    const d = c.download;
    const pct = Math.round((d.progress ?? 0) * 100);
    const name = d.title || d.name || c.id.slice(0, 16);
    return el('li', { 'data-download': c.id },
      el('span', { class: 'name' }, name),
      // A complete file plays in the page on demand (MPEG-TS files; the box says why not otherwise).
      d.state === 'seeding' && mayWatch() ? el('button', { type: 'button', class: 'watch secondary', onclick: () => watch({ contentId: c.id, name, file: true }) }, 'Watch') : null,
      // On the TV, also while it downloads (the box fetches what mpv reads first).
      s.vod?.contentId === c.id
        ? el('span', { class: 'badge owner' }, 'on the TV')
        : d.state !== 'failed' ? el('button', { type: 'button', class: 'play', disabled: !may('play'), onclick: () => play(c.id) }, 'Play on TV') : null,
      el('span', { class: 'hint' }, `${d.state} · ${pct} % of ${bytes(d.sizeBytes)} · ${c.partners} peers`),
      el('progress', { max: '100', value: String(pct) }));
  });
  list.replaceChildren(...(items.length ? items : [el('li', { class: 'hint' }, 'No downloads')]));
}

// ---- channels, peers, join requests --------------------------------------------------------

async function refreshChannels() {
  if (!may('channels')) return;
  try {
    state.channels = await call('channels');
  } catch (err) {
    $('channels').replaceChildren(el('li', { class: 'hint' }, err.message));
    return;
  }
  const canPlay = may('play');
  const items = state.channels.channels.map((c) =>
    el('li', { class: c.playing ? 'playing' : '', 'data-channel': c.name },
      el('span', { class: 'name' }, c.name),
      el('span', { class: 'actions' },
        // Watch here (phone, laptop): channels this box receives, when the owner lets viewers watch.
        el('button', { type: 'button', class: 'watch secondary', disabled: !c.receiving || !mayWatch(), title: c.receiving ? 'Watch on this device' : 'The box does not receive this channel: play it on the TV first', onclick: () => watch(c) }, 'Watch'),
        c.playing
          ? el('span', { class: 'badge owner' }, 'on the TV')
          : el('button', { type: 'button', class: 'play', disabled: !canPlay, onclick: () => play(c.name) }, 'Play'))));
  $('channels').replaceChildren(...(items.length ? items : [el('li', { class: 'hint' }, 'No channels announced')]));
  $('stop').disabled = !may('stop') || !(state.channels.playing || state.status?.vod);
}

async function play(name) {
  try {
    notice('');
    await call('play', { channel: name });
  } catch (err) {
    notice(`Could not switch to ${name}: ${err.message}`);
  }
  refreshChannels();
}

async function stopTv() {
  try {
    await call('stop');
  } catch (err) {
    notice(err.message);
  }
  refreshChannels();
}

async function refreshPeers() {
  if (!may('peers')) return;
  try {
    const { peers, segment } = await call('peers');
    const row = (p, where) => el('li', {}, el('span', { class: 'mono' }, p.peerId), el('span', { class: 'hint mono' }, p.contact), where ? el('span', { class: 'badge' }, where) : null);
    // A main node lists its segment side (local nodes) first, then its uplink peers.
    const items = segment ? [...segment.map((p) => row(p, 'segment')), ...peers.map((p) => row(p, 'uplink'))] : peers.map((p) => row(p));
    $('peers').replaceChildren(...(items.length ? items : [el('li', { class: 'hint' }, 'No peers connected')]));
  } catch (err) {
    $('peers').replaceChildren(el('li', { class: 'hint' }, err.message));
  }
}

async function refreshPending() {
  if (!isOwner()) return;
  if (!state.session.rights) {
    $('rights-off').textContent = 'Rights not enabled on this box.';
    $('rights-off').hidden = false;
    return $('pending').replaceChildren();
  }
  $('rights-off').hidden = true;
  try {
    const pending = await call('drm.pending');
    const list = Array.isArray(pending) ? pending : pending?.pending ?? [];
    const items = list.map((r) =>
      el('li', { 'data-request': r.id },
        el('span', { class: 'name' }, r.name || r.deviceId),
        el('span', { class: 'hint mono' }, `${r.deviceId} · ${new Date(r.requestedAt).toLocaleString()}`),
        el('button', { type: 'button', class: 'approve', onclick: () => decide('drm.approve', r.id) }, 'Approve'),
        el('button', { type: 'button', class: 'deny', onclick: () => decide('drm.deny', r.id) }, 'Deny')));
    $('pending').replaceChildren(...(items.length ? items : [el('li', { class: 'hint' }, 'No pending requests')]));
  } catch (err) {
    // Rights are built in, but this box does not manage a domain (only a main node does).
    $('rights-off').textContent = `Domain join requests are not handled on this box: ${err.message}`;
    $('rights-off').hidden = false;
    $('pending').replaceChildren();
  }
}

async function decide(method, id) {
  try {
    await call(method, { id });
  } catch (err) {
    notice(err.message);
  }
  refreshPending();
}

// ---- wiring -----------------------------------------------------------------------------------

$('login-open').addEventListener('click', openLogin);
$('login-cancel').addEventListener('click', () => $('login-dialog').close());
$('setup-cancel').addEventListener('click', () => $('login-dialog').close());
$('login-form').addEventListener('submit', login);
$('setup-form').addEventListener('submit', setup);
$('logout').addEventListener('click', logout);
$('stop').addEventListener('click', stopTv);
$('set-browse').addEventListener('change', saveSettings);
$('set-switch').addEventListener('change', saveSettings);
$('set-watch').addEventListener('change', saveSettings);
window.addEventListener('resize', () => drawChart($('chart'), state.samples));
setInterval(refreshChannels, 15000);
setInterval(refreshPeers, 5000);
setInterval(refreshPending, 5000);
setInterval(() => refreshUpdate(isOwner()), 5000);
// The first look at the box may fail (it is restarting, the network hiccups): keep trying.
function firstSession(delayMs) {
  setTimeout(() => loadSession().catch((err) => {
    notice(`Cannot reach the box: ${err.message}; trying again`);
    firstSession(2000);
  }), delayMs);
}
firstSession(0);
