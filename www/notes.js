// Shared notes: one collaborative Text per room, kept in sync by joinRoom() over WebRTC data
// channels (the signaling server relays until a direct connection opens, or when none can).
// The page does I/O and display only: sync, catch-up, presence and typing timeouts are the room's.
import { createDoc, joinRoom } from '/js/index.js';
import { bindTextarea } from './editor.js';
import { COLORS, identity, renderPeople, typingLine } from './people.js';
import { createFiles } from './files.js';

const $ = (id) => document.getElementById(id);
const area = $('notes');
const SERVER = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/socket`;
const RETRY_MS = 5000;

// Who we are: kept per browser, editable in the Room card.
const ADJECTIVES = ['Quiet', 'Brisk', 'Sunny', 'Clever', 'Gentle', 'Lucky', 'Bold', 'Calm'];
const ANIMALS = ['Otter', 'Heron', 'Fox', 'Lynx', 'Panda', 'Robin', 'Koala', 'Orca'];
const pick = (list) => list[Math.floor(Math.random() * list.length)];
const me = {
  name: localStorage.getItem('roomsync.name') || `${pick(ADJECTIVES)} ${pick(ANIMALS)}`,
  color: COLORS.includes(localStorage.getItem('roomsync.color')) ? localStorage.getItem('roomsync.color') : pick(COLORS),
};
localStorage.setItem('roomsync.color', me.color);

const state = {
  roomName: decodeURIComponent(location.hash.slice(1)) || 'lobby',
  password: '',
  doc: null,
  unbind: null,
  room: null,
  session: 0, // bumps on every (re)join, so stale async work can tell it is stale
  online: true, // the user's choice (Go offline / Go online)
  phase: 'connecting', // connecting | live | unreachable | refused
  serverLost: false,
  refused: new Set(), // peers that use another password
  retryTimer: null,
};

const files = createFiles({ list: $('transfers'), empty: $('files-empty'), input: $('file'), nameOf: (p) => nameOf(p) });

function nameOf(peerId) {
  return identity(state.room?.presence.get(peerId), peerId).name || 'Someone';
}

// ---------------------------------------------------------------- joining

/** Opens the room's document (a new one when the room name changes) and joins. */
let opening = 0;
async function open(roomName) {
  if (state.doc && roomName === state.roomName) return join();
  const mine = ++opening; // a later open() wins
  const left = leave(); // lets go of the room at once
  state.phase = 'connecting';
  state.roomName = roomName;
  hideBanner();
  renderTitle();
  render();
  await left;
  if (mine !== opening) return;
  state.unbind?.();
  state.unbind = null;
  state.doc?.destroy();
  state.doc = null;
  const doc = await createDoc();
  if (mine !== opening) return doc.destroy();
  state.doc = doc;
  state.unbind = bindTextarea(area, state.doc.getText('notes'), state.doc, {
    onLocalEdit: () => state.room?.presence.typing(),
    onChange: renderCounter,
  });
  renderCounter();
  return join();
}

async function join() {
  await leave();
  if (!state.online || !state.doc) return render(); // no document: open() joins once it has one
  const session = ++state.session;
  state.phase = 'connecting';
  state.refused.clear();
  render();
  let room;
  try {
    room = await joinRoom({ signaling: SERVER, room: state.roomName, doc: state.doc, password: state.password || undefined });
  } catch (err) {
    if (session !== state.session) return;
    return failed(err);
  }
  if (session !== state.session) return room.leave();
  state.room = room;
  state.phase = 'live';
  state.serverLost = false;
  if (bannerKind === 'server') hideBanner();
  room.presence.set(me);
  const rerender = () => session === state.session && render();
  room.on('peer-join', rerender);
  room.on('peer-leave', (peer) => {
    if (state.refused.delete(peer) && state.refused.size === 0 && bannerKind === 'password') hideBanner();
    rerender();
  });
  for (const e of ['presence', 'typing', 'synced', 'peer-synced']) room.on(e, rerender);
  room.on('error', (err) => session === state.session && roomError(err));
  room.signaling.on('disconnect', () => {
    if (session !== state.session || state.serverLost) return;
    state.serverLost = true;
    render();
  });
  room.signaling.on('reconnect', () => {
    if (session !== state.session) return;
    state.serverLost = false;
    render();
  });
  files.attach(room);
  render();
}

async function leave() {
  clearTimeout(state.retryTimer);
  state.session++;
  const room = state.room;
  state.room = null;
  files.detach();
  if (room) await room.leave().catch(() => {});
}

function failed(err) {
  const code = err && err.code;
  if (code === 'connect_failed' || code === 'timeout') {
    state.phase = 'unreachable';
    showBanner('server', 'error', 'Can’t reach the server.',
      `Your notes are kept in this window and sync once it is back. Retrying every ${RETRY_MS / 1000} s…`,
      'Retry now', () => join());
    state.retryTimer = setTimeout(() => join(), RETRY_MS);
  } else if (code === 'invalid_room') {
    state.phase = 'refused';
    showBanner('room', 'error', 'That room name doesn’t work.',
      'Use 1 to 128 letters, digits or - _ . : @ + (no spaces).', 'Change room', () => $('room').focus());
  } else {
    state.phase = 'refused';
    showBanner('server', 'error', 'Could not join the room.', err.message, 'Try again', () => join());
  }
  render();
}

function roomError(err) {
  if (err.code === 'wrong_password') {
    if (err.peerId) state.refused.add(err.peerId);
    const n = state.refused.size;
    const who = n === 1 ? 'Someone in' : `${n} people in`;
    if (state.password) {
      showBanner('password', 'error', 'Wrong password.',
        `${who} “${state.roomName}” ${n === 1 ? 'uses' : 'use'} a different password, so you cannot connect${n === 1 ? '' : ' to them'}. Check the password and join again.`,
        'Change password', () => $('password').focus());
    } else {
      showBanner('password', 'error', 'This room needs a password.',
        `${who} “${state.roomName}” ${n === 1 ? 'uses' : 'use'} a room password. Enter it below and join again.`,
        'Enter password', () => $('password').focus());
    }
    return render();
  }
  if (err.code === 'peer_id_changed') return join(); // the server forgot us: join afresh, same document
  console.warn('room:', err);
}

// ---------------------------------------------------------------- display

let bannerKind = null;

function showBanner(kind, level, title, text, action, onAction) {
  bannerKind = kind;
  const banner = $('banner');
  banner.dataset.level = level;
  banner.dataset.kind = kind;
  $('banner-title').textContent = title;
  $('banner-text').textContent = text;
  const button = $('banner-action');
  button.hidden = !action;
  button.textContent = action || '';
  button.onclick = onAction || null;
  banner.hidden = false;
}

function hideBanner() {
  bannerKind = null;
  $('banner').hidden = true;
}

function status() {
  const room = state.room;
  if (!state.online) return ['offline', 'Offline · edits kept'];
  if (state.phase === 'unreachable') return ['error', 'Server unreachable'];
  if (state.phase === 'refused') return ['error', 'Not joined'];
  if (state.phase === 'connecting' || !room) return ['connecting', 'Connecting…'];
  if (state.refused.size > 0 && room.getPeers().every((p) => state.refused.has(p))) return ['error', 'Wrong password'];
  if (!room.synced) return ['syncing', 'Syncing…'];
  const n = room.getPeers().length;
  if (state.serverLost) return ['warn', n > 0 ? 'Server offline · peers still linked' : 'Server offline · reconnecting…'];
  return ['live', n === 0 ? 'Live · just you' : `Live · ${n + 1} people`];
}

function render() {
  const [kind, text] = status();
  $('status').dataset.state = kind;
  $('status-text').textContent = text;
  const online = $('online');
  online.textContent = state.online ? 'Go offline' : 'Go online';
  online.setAttribute('aria-pressed', String(state.online));

  const room = state.room;
  const peers = room ? room.getPeers() : [];
  const rows = [{ id: 'self', self: true, offline: !room, ...me, typing: false }];
  for (const id of peers) {
    const { name, color } = identity(room.presence.get(id), id);
    const info = room.peerInfo(id) || { via: 'gossip', rttMs: null, synced: false };
    rows.push({ id, name, color, typing: room.presence.isTyping(id), via: info.via, rttMs: info.rttMs, synced: info.synced, refused: state.refused.has(id) });
  }
  renderPeople($('peers'), rows);
  $('people-count').textContent = String(rows.length);
  $('alone').hidden = peers.length > 0 || !room;
  $('typing').textContent = room ? typingLine(room.presence.typingPeers().map((p) => nameOf(p))) : '';
}

function renderTitle() {
  $('room-title').textContent = state.roomName;
  $('room').value = state.roomName;
  document.title = `${state.roomName} · Shared notes`;
}

function renderCounter() {
  const n = [...area.value].length; // characters as people count them (an emoji is one)
  $('counter').textContent = n === 0 ? '' : `${n.toLocaleString('en')} character${n === 1 ? '' : 's'}`;
}

// Routes and round-trip times change without an event: refresh them now and then.
setInterval(() => state.room && render(), 1000);

// ---------------------------------------------------------------- controls

$('name').value = me.name;
$('name').addEventListener('input', () => {
  const name = $('name').value.trim();
  if (!name) return;
  me.name = name.slice(0, 40);
  localStorage.setItem('roomsync.name', me.name);
  try {
    state.room?.presence.set(me);
  } catch (err) {
    console.warn(err);
  }
  render();
});

$('join-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const roomName = $('room').value.trim();
  if (!roomName) return;
  state.password = $('password').value;
  state.online = true;
  if (location.hash.slice(1) !== encodeURIComponent(roomName)) history.replaceState(null, '', `#${encodeURIComponent(roomName)}`);
  hideBanner();
  open(roomName).catch(fatal);
});

$('online').addEventListener('click', () => {
  state.online = !state.online;
  const work = state.online ? join() : leave(); // leave() lets go of the room at once, then says bye
  render();
  work.then(render).catch(fatal);
});

$('invite').addEventListener('click', async () => {
  const url = `${location.origin}${location.pathname}#${encodeURIComponent(state.roomName)}`;
  const button = $('invite');
  try {
    await navigator.clipboard.writeText(url);
    button.textContent = 'Link copied';
  } catch {
    prompt('Copy this link:', url);
  }
  setTimeout(() => { button.textContent = 'Copy invite link'; }, 2000);
});

$('banner-close').addEventListener('click', hideBanner);

window.addEventListener('hashchange', () => {
  const roomName = decodeURIComponent(location.hash.slice(1)) || 'lobby';
  if (roomName !== state.roomName) open(roomName).catch(fatal);
});
window.addEventListener('pagehide', () => { state.room?.leave(); });

function fatal(err) {
  console.error(err);
  showBanner('fatal', 'error', 'Something went wrong.', err.message, 'Reload', () => location.reload());
}

// Exposed for scripts and tests: the current room and document.
Object.defineProperty(window, 'notes', { value: { get room() { return state.room; }, get doc() { return state.doc; } } });

renderTitle();
open(state.roomName).catch(fatal);
