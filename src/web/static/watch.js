// Watching a channel the box receives, in the page (a phone in the room, a laptop on the LAN): the
// box's HLS (/hls/ID/index.m3u8) in a <video>, played by hls.js (/hls.min.js, from the box, loaded on
// the first Watch) where Media Source Extensions exist, natively where the browser plays HLS itself
// (iOS Safari). Shows the lag behind the live edge and the stalls; the box's refusals (full, not
// allowed, stopped, protected) as its own words.
const $ = (id) => document.getElementById(id);
const w = { hls: null, timer: null, channel: null, stalls: 0, playing: false, api: null, askTimer: null, owner: false, restartedFor: null };

/** The page's API helper (app.js: same-origin fetch with the session's CSRF token). */
export function setApi(api) {
  w.api = api;
}

function loadHlsJs() {
  if (window.Hls) return Promise.resolve(window.Hls);
  return new Promise((resolve, reject) => {
    const s = document.createElement('script');
    s.src = '/hls.min.js';
    s.onload = () => (window.Hls ? resolve(window.Hls) : reject(new Error('the player script did not load')));
    s.onerror = () => reject(new Error('could not load the player script from the box'));
    document.head.append(s);
  });
}

/**
 * The box's answer to the playlist request: its access ('clear', 'approved', 'preview'), or its
 * error message (retrying while it has no media yet).
 */
async function ask(url) {
  for (let attempt = 0; ; attempt++) {
    const r = await fetch(url, { credentials: 'same-origin', cache: 'no-store' });
    if (r.ok) return r.headers.get('X-Superdist-Access') ?? 'clear';
    let msg = '';
    try {
      msg = (await r.json()).error ?? '';
    } catch {
      // not JSON
    }
    if (r.status === 503 && msg.startsWith('no media') && attempt < 10) {
      info(msg);
      await new Promise((res) => setTimeout(res, 2000));
      continue;
    }
    const err = new Error(msg || `${r.status} ${r.statusText}`);
    err.status = r.status;
    throw err;
  }
}

function info(text) {
  $('watch-info').textContent = text;
}

function fail(text) {
  $('watch-error').textContent = text;
  $('watch-error').hidden = !text;
}

function render() {
  const v = $('watch-video');
  const parts = [];
  parts.push(w.playing ? 'Playing' : 'Starting…');
  if (w.channel?.file) {
    if (v.duration > 0) parts.push(`${Math.floor(v.currentTime)} of ${Math.floor(v.duration)} s`);
  } else {
    let lag = w.hls?.latency;
    if (!(lag >= 0) && v.seekable.length) lag = v.seekable.end(v.seekable.length - 1) - v.currentTime;
    if (lag >= 0) parts.push(`lag ${lag.toFixed(1)} s`);
  }
  parts.push(`${w.stalls} stall${w.stalls === 1 ? '' : 's'}`);
  info(parts.join(' · '));
  $('watch-card').dataset.stalls = String(w.stalls);
}

export function stopWatching() {
  clearInterval(w.timer);
  w.timer = null;
  w.hls?.destroy();
  w.hls = null;
  w.channel = null;
  clearInterval(w.askTimer);
  w.askTimer = null;
  const v = $('watch-video');
  v.pause();
  v.removeAttribute('src');
  v.load();
  $('watch-card').hidden = true;
  $('watch-preview').hidden = true;
}

/** Plays `channel` ({contentId, name}; `file: true` for a file this box holds, on demand) in the page. */
export async function watch(channel) {
  stopWatching();
  w.channel = channel;
  w.stalls = 0;
  w.playing = false;
  $('watch-name').textContent = channel.name;
  $('watch-card').hidden = false;
  fail('');
  info('Starting…');
  const url = `/hls/${channel.file ? 'file/' : ''}${encodeURIComponent(channel.contentId)}/index.m3u8`;
  const v = $('watch-video');
  try {
    const access = await ask(url);
    if (w.channel !== channel) return;
    $('watch-preview').hidden = access !== 'preview';
    if (access === 'preview') followRequest(channel);
    const mse = 'MediaSource' in window || 'ManagedMediaSource' in window;
    const Hls = mse ? await loadHlsJs() : null;
    if (w.channel !== channel) return;
    if (Hls?.isSupported()) {
      // No worker: the page's CSP allows scripts from the box only (a worker would be a blob: URL).
      // Start 3 s behind the playlist's edge, in seconds: live segments are the box's short chunks.
      const hls = new Hls({ enableWorker: false, liveSyncDuration: 3 });
      w.hls = hls;
      hls.on(Hls.Events.ERROR, (_e, d) => {
        if (d.details === Hls.ErrorDetails.BUFFER_STALLED_ERROR) w.stalls++;
        if (!d.fatal) return;
        if (d.type === Hls.ErrorTypes.MEDIA_ERROR) return hls.recoverMediaError();
        // The box refused or the channel went away: say what it says.
        ask(url).then(
          () => fail(`Playback failed (${d.details}); press Watch again.`),
          (err) => fail(err.message),
        );
        stopHls();
      });
      hls.loadSource(url);
      hls.attachMedia(v);
    } else if (v.canPlayType('application/vnd.apple.mpegurl')) {
      v.src = url;
    } else {
      throw new Error('this browser cannot play the channel (no Media Source Extensions, no native HLS)');
    }
    await v.play().catch(() => {
      // Autoplay with sound refused: start muted, the controls unmute.
      v.muted = true;
      return v.play();
    });
    w.timer = setInterval(render, 1000);
  } catch (err) {
    if (w.channel === channel) fail(err.message);
  }
}

/** Preview only: shows this browser's request (if any) and restarts playback once the owner approved it. */
async function followRequest(channel) {
  const show = (r) => {
    $('watch-asked').textContent = !r ? '' : r.state === 'pending' ? 'Asked: waiting for the owner…' : r.state === 'denied' ? 'The owner said no.' : 'Approved.';
    $('watch-ask').disabled = r?.state === 'pending';
  };
  const poll = async () => {
    const { request } = await w.api('/api/phone').catch(() => ({ request: null }));
    if (w.channel !== channel) return;
    show(request);
    if (request?.state !== 'approved') return;
    // Approved: play again, in full. Once: if it is still the preview, the box itself holds no rights.
    if (w.restartedFor === channel.contentId) {
      clearInterval(w.askTimer);
      $('watch-asked').textContent = 'Approved, but this box holds no rights to the channel: preview only.';
      return;
    }
    w.restartedFor = channel.contentId;
    watch(channel);
  };
  clearInterval(w.askTimer);
  w.askTimer = setInterval(poll, 3000);
  await poll();
}

async function askOwner() {
  try {
    const label = navigator.userAgentData?.platform || (/(iPhone|iPad|Android)/.exec(navigator.userAgent)?.[1] ?? 'browser');
    const { request } = await w.api('/api/phone/request', { label: `${label} ${new Date().toLocaleTimeString()}` });
    $('watch-asked').textContent = request.state === 'approved' ? 'Approved.' : 'Asked: waiting for the owner…';
    $('watch-ask').disabled = true;
  } catch (err) {
    fail(err.message);
  }
}

/** Owner panel: phones asking to watch protected channels, with Approve / Deny (polled while the owner is logged in). */
export async function refreshPhoneRequests(owner) {
  w.owner = owner;
  if (!owner) return;
  try {
    const { requests, slots } = await w.api('/api/phones');
    const approved = requests.filter((r) => r.state === 'approved').length;
    $('phones-slots').textContent = `${approved} of ${slots} phone${slots === 1 ? '' : 's'} the domain has room for may watch protected channels.`;
    const decide = (id, approve) => w.api('/api/phones/decide', { id, approve }).catch((err) => ($('phones-slots').textContent = err.message)).then(() => refreshPhoneRequests(w.owner));
    const items = requests.map((r) => {
      const li = Object.assign(document.createElement('li'), { className: 'phone-request' });
      li.dataset.request = r.id;
      const name = Object.assign(document.createElement('span'), { className: 'name', textContent: r.label });
      const st = Object.assign(document.createElement('span'), { className: 'hint', textContent: `${r.state} · ${new Date(r.requestedAt).toLocaleTimeString()}` });
      li.append(name, st);
      if (r.state === 'pending') li.append(Object.assign(document.createElement('button'), { type: 'button', className: 'approve', textContent: 'Approve', onclick: () => decide(r.id, true) }));
      li.append(Object.assign(document.createElement('button'), { type: 'button', className: 'deny', textContent: r.state === 'pending' ? 'Deny' : 'Revoke', onclick: () => decide(r.id, false) }));
      return li;
    });
    const none = Object.assign(document.createElement('li'), { className: 'hint', textContent: 'No phone has asked' });
    $('phone-requests').replaceChildren(...(items.length ? items : [none]));
  } catch (err) {
    $('phones-slots').textContent = err.message;
  }
}

function stopHls() {
  w.hls?.destroy();
  w.hls = null;
  clearInterval(w.timer);
  w.timer = null;
}

const video = $('watch-video');
video.addEventListener('playing', () => {
  w.playing = true;
});
video.addEventListener('waiting', () => {
  // A wait after playback began is a stall (hls.js also reports them; count the element's own for native HLS).
  if (w.playing && !w.hls) w.stalls++;
});
$('watch-close').addEventListener('click', stopWatching);
$('watch-ask').addEventListener('click', askOwner);
setInterval(() => refreshPhoneRequests(w.owner), 3000);
