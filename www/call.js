// Video call page: a room (joinRoom) whose peers start or join a call (room.call) with audio and
// video peer to peer over the room's WebRTC connections. The page only draws: who is in the call
// comes from presence ({ name, color, inCall }), tiles, mute/camera/talking from the call's events.
//   /call.html?room=<name>&name=<nickname> joins the room at once (a shareable link).
import { joinRoom } from '/dist/roomsync.browser.js';

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const COLORS = ['#6e56cf', '#30a46c', '#f76b15', '#e5484d', '#0090ff', '#d6409f', '#12a594', '#ad7f58'];
const colorOf = (id) => COLORS[[...id].reduce((h, c) => (h * 31 + c.charCodeAt(0)) >>> 0, 7) % COLORS.length];
const initials = (name) => name.trim().split(/\s+/).map((w) => w[0]).join('').slice(0, 2).toUpperCase() || '?';

let room = null;
let call = null;
let me = null; // { name, color }
const tiles = new Map(); // peer id -> tile element
let clock = null;

// ---------------------------------------------------------------- status and banner

function setStatus(state, text) {
  $('status').dataset.state = state;
  $('status-text').textContent = text;
}

function banner(title, text, level = 'error') {
  $('banner').dataset.level = level;
  $('banner-title').textContent = title;
  $('banner-text').textContent = text;
  $('banner').hidden = false;
}
$('banner-close').onclick = () => { $('banner').hidden = true; };

// ---------------------------------------------------------------- joining the room

function showJoinForm() {
  $('join-view').hidden = false;
  setStatus('idle', 'Not connected');
  $('name').value = params.get('name') || localStorage.getItem('roomsync.name') || '';
  $('room').value = params.get('room') || `call-${Math.random().toString(36).slice(2, 7)}`;
  $('join-form').onsubmit = (e) => {
    e.preventDefault();
    localStorage.setItem('roomsync.name', $('name').value.trim());
    location.search = new URLSearchParams({ room: $('room').value.trim(), name: $('name').value.trim() }).toString();
  };
}

async function enterRoom(roomName, name) {
  $('call-view').hidden = false;
  $('room-title').textContent = roomName;
  document.title = `${roomName} · Call · roomsync`;
  try {
    room = await joinRoom({ signaling: '/socket', room: roomName });
  } catch (err) {
    setStatus('error', 'Offline');
    $('start').disabled = true;
    return banner('Cannot join the room.', err.message);
  }
  me = { name, color: colorOf(room.peerId) };
  room.presence.set({ ...me, inCall: false });
  for (const e of ['peer-join', 'peer-leave', 'presence']) room.on(e, render);
  room.signaling.on('disconnect', () => setStatus('warn', 'Reconnecting…'));
  room.signaling.on('reconnect', render);
  $('start').onclick = startCall;
  render();
}

const nameOf = (id) => (id === room.peerId ? me.name : room.presence.get(id)?.name || 'Guest');
const colorFor = (id) => (id === room.peerId ? me.color : room.presence.get(id)?.color || colorOf(id));
const inCallNow = () => room.getPeers().filter((id) => room.presence.get(id)?.inCall);

function render() {
  if (!room) return;
  const others = room.getPeers().length;
  setStatus('live', others ? `Connected · ${others + 1} here` : 'Connected');
  // The lobby: who is in the call (from presence), and the button.
  const inCall = inCallNow();
  const names = inCall.map(nameOf);
  $('lobby-faces').replaceChildren(...inCall.map((id) => avatar(id)));
  const full = inCall.length >= 4;
  $('lobby-title').textContent = inCall.length === 0 ? 'No one is in the call yet'
    : `${list(names)} ${inCall.length === 1 ? 'is' : 'are'} in the call`;
  $('lobby-text').textContent = inCall.length === 0 ? 'Start it: the others in this room can join with one click.'
    : full ? 'The call is full: 4 people at most.' : 'Join them: your camera and microphone go straight to them.';
  $('start').textContent = inCall.length ? 'Join call' : 'Start call';
  $('start').disabled = full && !call;
  $('call-sub').textContent = call ? `${call.peers().length + 1} in the call` : `${others + 1} in the room`;
  for (const [id, tile] of tiles) {
    tile.querySelector('.who').textContent = id === room.peerId ? `${me.name} (you)` : nameOf(id);
    tile.dataset.name = nameOf(id);
    const av = tile.querySelector('.avatar');
    av.textContent = initials(nameOf(id));
    av.style.setProperty('--c', colorFor(id));
  }
}

const list = (names) => (names.length <= 1 ? names.join('') : `${names.slice(0, -1).join(', ')} and ${names.at(-1)}`);

function avatar(id) {
  const el = document.createElement('span');
  el.className = 'avatar';
  el.style.setProperty('--c', colorFor(id));
  el.textContent = initials(nameOf(id));
  return el;
}

// ---------------------------------------------------------------- the call

async function startCall() {
  $('start').disabled = true;
  $('start').textContent = 'Starting…';
  $('banner').hidden = true;
  try {
    call = await room.call({ audio: true, video: true });
  } catch (err) {
    $('start').disabled = false;
    render();
    const title = { media_denied: 'Camera and microphone are blocked.', no_device: 'No camera or microphone found.' }[err.code] || 'Cannot start the call.';
    const text = err.code === 'media_denied' ? 'Allow them for this site in the browser (the icon in the address bar), then try again.' : err.message;
    return banner(title, text);
  }
  room.presence.set({ ...me, inCall: true });
  $('lobby').hidden = true;
  $('stage').hidden = false;
  addTile(room.peerId, call.localStream, { muted: call.muted, camera: call.camera, talking: false });
  for (const p of call.peers()) addTile(p.id, p.stream, p);
  call.on('peer-joined', (p) => addTile(p.id, p.stream, p));
  call.on('track', (id, stream) => attach(tiles.get(id), stream));
  call.on('state', (id, s) => updateTile(id, s));
  call.on('peer-left', (id) => removeTile(id));
  call.on('error', callError);
  call.on('leave', ended);
  syncButtons();
  clock = setInterval(tick, 1000);
  tick();
  render();
}

function callError(err) {
  if (err.code === 'call_full') return banner('This call is full.', `${call.maxPeers} people are in it already: try again when someone leaves.`, 'warn');
  if (err.code === 'no_media_route') {
    const tile = tiles.get(err.peerId);
    if (tile) tile.querySelector('.note').textContent = 'No direct connection: no audio or video';
    return;
  }
  banner('Call problem.', err.message, 'warn');
}

function ended() {
  clearInterval(clock);
  for (const id of [...tiles.keys()]) removeTile(id);
  call = null;
  $('stage').hidden = true;
  $('lobby').hidden = false;
  $('duration').hidden = true;
  if (!room.left) room.presence.set({ ...me, inCall: false });
  $('start').disabled = false;
  render();
}

function tick() {
  const others = call.peers().length;
  $('duration').hidden = others === 0;
  const s = Math.max(0, Math.floor((Date.now() - call.startedAt) / 1000));
  const hms = [Math.floor(s / 3600), Math.floor(s / 60) % 60, s % 60];
  $('duration-text').textContent = (hms[0] ? `${hms[0]}:${String(hms[1]).padStart(2, '0')}` : `${hms[1]}`) + `:${String(hms[2]).padStart(2, '0')}`;
  showWaiting();
}

/** Alone in the call: the waiting tile shows. */
function showWaiting() {
  $('tiles').querySelector('.waiting')?.toggleAttribute('hidden', Boolean(call?.peers().length));
}

$('mute').onclick = () => { call.setMuted(!call.muted); syncButtons(); };
$('camera').onclick = () => { call.setCamera(!call.camera); syncButtons(); };
$('leave').onclick = () => call?.leave();
$('invite').onclick = copyLink;

function syncButtons() {
  $('mute').setAttribute('aria-pressed', String(call.muted));
  $('mute').querySelector('use').setAttribute('href', call.muted ? '#i-mic-off' : '#i-mic');
  $('mute').querySelector('span').textContent = call.muted ? 'Unmute' : 'Mute';
  $('camera').setAttribute('aria-pressed', String(!call.camera));
  $('camera').querySelector('use').setAttribute('href', call.camera ? '#i-cam' : '#i-cam-off');
  $('camera').querySelector('span').textContent = call.camera ? 'Camera' : 'Camera off';
}

async function copyLink() {
  const url = new URL(location.href);
  url.searchParams.delete('name');
  try {
    await navigator.clipboard.writeText(url.href);
    $('invite').querySelector('span').textContent = 'Copied';
  } catch {
    window.prompt('Copy this link:', url.href);
  }
  setTimeout(() => { $('invite').querySelector('span').textContent = 'Invite'; }, 1500);
}

// ---------------------------------------------------------------- tiles

function addTile(id, stream, state) {
  if (tiles.has(id)) return;
  const tile = $('tile-template').content.firstElementChild.cloneNode(true);
  tile.dataset.peer = id;
  if (id === room.peerId) {
    tile.dataset.self = '';
    tile.querySelector('video').muted = true; // no echo of one's own voice
  }
  tiles.set(id, tile);
  $('tiles').append(tile);
  ensureWaitingTile();
  attach(tile, stream);
  updateTile(id, state);
  layout();
  showWaiting();
  render();
}

function removeTile(id) {
  const tile = tiles.get(id);
  if (!tile) return;
  tile.querySelector('video').srcObject = null;
  tile.remove();
  tiles.delete(id);
  layout();
  showWaiting();
  if (call) render();
}

/** Alone in the call: a tile that says so, with the invite link. */
function ensureWaitingTile() {
  if ($('tiles').querySelector('.waiting')) return;
  const el = document.createElement('div');
  el.className = 'tile waiting';
  el.innerHTML = '<div><p class="waiting-title">Waiting for others…</p><p class="waiting-text">Send the link to this call; it joins at once.</p><button class="btn small" type="button">Copy invite link</button></div>';
  el.querySelector('button').onclick = copyLink;
  $('tiles').append(el);
}

function layout() {
  $('tiles').dataset.count = String(tiles.size);
}

function attach(tile, stream) {
  if (!tile || !stream) return;
  const video = tile.querySelector('video');
  if (video.srcObject !== stream) video.srcObject = stream;
  // Autoplay with sound needs a user gesture (the Start/Join click gave one); else play muted.
  video.play().catch(() => {
    video.muted = true;
    video.play().catch(() => {});
  });
}

function updateTile(id, s) {
  const tile = tiles.get(id);
  if (!tile || !s) return;
  tile.dataset.muted = String(s.muted);
  tile.dataset.camera = s.camera ? 'on' : 'off';
  tile.dataset.talking = String(s.talking);
  if (s.media) tile.dataset.media = s.media;
  const note = s.media === 'unreachable' ? 'No direct connection: no audio or video' : s.media === 'connecting' ? 'Connecting…' : '';
  tile.querySelector('.note').textContent = note;
}

// ---------------------------------------------------------------- start

if (params.get('room') && params.get('name')) enterRoom(params.get('room'), params.get('name').slice(0, 40));
else showJoinForm();
window.callPage = { get room() { return room; }, get call() { return call; } }; // for the console and tests
window.addEventListener('pagehide', () => { call?.leave(); room?.leave(); });
