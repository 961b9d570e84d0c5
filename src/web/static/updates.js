// The owner's firmware update card: what runs, what the update agent is doing, Apply and Hold
// (the control API's update.status, update.apply and update.hold; docs/updates.md).
const $ = (id) => document.getElementById(id);
let callApi = null;

export function setUpdateApi(call) {
  callApi = call;
  $('update-apply').addEventListener('click', () => act('update.apply'));
  $('update-hold').addEventListener('change', (ev) => act('update.hold', { hold: ev.target.checked }));
}

const PHASES = {
  idle: 'Up to date',
  found: 'Update found',
  downloading: 'Downloading from other boxes',
  verifying: 'Checking the signature',
  writing: 'Writing the spare slot',
  'trial-boot': 'Restarting into the update',
  'health-check': 'Trying the update',
  committed: 'Updated',
  'rolled-back': 'Update undone',
};

function render(u) {
  const card = $('update-card');
  if (!u) {
    card.hidden = true;
    return;
  }
  card.hidden = false;
  $('update-running').textContent = `Version ${u.runningVersion} · ${u.hardware} · slot ${u.currentSlot ?? '?'}`;
  const pct = u.progress == null ? '' : ` · ${Math.round(u.progress * 100)} %`;
  const offer = u.offer && !['idle', 'committed'].includes(u.phase) ? ` ${u.offer.version}` : '';
  $('update-phase').textContent = `${PHASES[u.phase] ?? u.phase}${offer}${pct}${u.held ? ' · held' : ''}`;
  $('update-last').textContent = u.last ? `Last: ${u.last.result} ${u.last.version} (${new Date(u.last.at).toLocaleString()}): ${u.last.reason}` : '';
  $('update-apply').hidden = !(u.offer && u.phase === 'found' && (u.held || !u.auto));
  $('update-hold').checked = u.held;
}

export async function refreshUpdate(isOwner) {
  if (!isOwner || !callApi) return render(null);
  try {
    render(await callApi('update.status'));
  } catch {
    render(null); // no update agent on this box
  }
}

async function act(method, params = {}) {
  try {
    render(await callApi(method, params));
  } catch (err) {
    $('update-last').textContent = err.message;
  }
}
