// Watching a channel the box receives, in the page (a phone in the room, a laptop on the LAN): the
// box's HLS (/hls/ID/index.m3u8) in a <video>, played by hls.js (/hls.min.js, from the box, loaded on
// the first Watch) where Media Source Extensions exist, natively where the browser plays HLS itself
// (iOS Safari). Shows the lag behind the live edge and the stalls; the box's refusals (full, not
// allowed, stopped, protected) as its own words.
const $ = (id) => document.getElementById(id);
const w = { hls: null, timer: null, channel: null, stalls: 0, playing: false };

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

/** The box's answer to the playlist request: ok, or its error message (retrying while it has no media yet). */
async function ask(url) {
  for (let attempt = 0; ; attempt++) {
    const r = await fetch(url, { credentials: 'same-origin', cache: 'no-store' });
    if (r.ok) return;
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
  let lag = w.hls?.latency;
  if (!(lag >= 0) && v.seekable.length) lag = v.seekable.end(v.seekable.length - 1) - v.currentTime;
  const parts = [];
  parts.push(w.playing ? 'Playing' : 'Starting…');
  if (lag >= 0) parts.push(`lag ${lag.toFixed(1)} s`);
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
  const v = $('watch-video');
  v.pause();
  v.removeAttribute('src');
  v.load();
  $('watch-card').hidden = true;
}

/** Plays `channel` ({contentId, name}) in the page. */
export async function watch(channel) {
  stopWatching();
  w.channel = channel;
  w.stalls = 0;
  w.playing = false;
  $('watch-name').textContent = channel.name;
  $('watch-card').hidden = false;
  fail('');
  info('Starting…');
  const url = `/hls/${encodeURIComponent(channel.contentId)}/index.m3u8`;
  const v = $('watch-video');
  try {
    await ask(url);
    if (w.channel !== channel) return;
    const mse = 'MediaSource' in window || 'ManagedMediaSource' in window;
    const Hls = mse ? await loadHlsJs() : null;
    if (w.channel !== channel) return;
    if (Hls?.isSupported()) {
      // No worker: the page's CSP allows scripts from the box only (a worker would be a blob: URL).
      const hls = new Hls({ enableWorker: false, liveSyncDurationCount: 3 });
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
