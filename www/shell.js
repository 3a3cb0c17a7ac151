// The page shell shared by the demo pages (chat, editor, whiteboard, call): who and where
// (?room=&name= or a small join form), the header with the status pill, the invite link and the
// offline switch, an error banner, the peers list, and this peer's presence
// { name, color, userId, away }. Pages load style.css (the shell's classes are at its end).
//
//   import { createDoc } from '/dist/roomsync.browser.js';
//   import { startShell } from './shell.js';
//   const shell = await startShell({ product: 'Chat' });  // resolves once room and name are known
//   const room = await shell.join({ doc: await createDoc() });  // null if it failed (banner shown)
//   shell.onChange(render);                               // peers, presence, status changed
//
// startShell({ product, peers?, idleMs? }) -> Promise<Shell>
//   product   the page's name beside the logo.
//   peers     element that gets the peers list (default: #peers, when the page has one).
//   idleMs    no input for this long marks this peer away (default 60 s; ?idle=<ms> overrides it);
//             a hidden tab is away at once.
// Shell
//   roomName, name          where and who.
//   userId, color           this tab's user id (kept across reloads, one per tab) and the colour
//                           derived from it; presence carries both (peers without a colour get
//                           colorFor(peerId)).
//   join(options)           joinRoom({ signaling: '/socket', room, ...options }); publishes presence,
//                           drives the pill and the list, rejoins after "Go online"; Room | null.
//   room                    the Room while joined, else null.   online: the user's switch.
//   setPresence(fields)     adds fields to this peer's presence (name, color and away stay).
//   nameOf(id), colorOf(id), isAway(id)   what a peer's presence says (names are never HTML).
//   onChange(cb)            cb() after any change the shell shows; returns an unsubscribe function.
//   onJoin(cb)              cb(room) for every Room joined (the first, and each after Go online,
//                           a password or a retry): attach room listeners there. Returns unsubscribe.
//   banner(title, text?, { level, kind, action, onAction }) | banner(null)   show / hide the banner.
//   status()                'connecting' | 'connected' | 'syncing' | 'synced' | 'offline' | 'error'.
// colorFor(id), initials(name), el(tag, className, text), randomRoom(), ROOM_PATTERN   exported too.
// Tests read: #status[data-state], #status-text, #banner[data-kind], #peers .peer (.name, .self,
// [data-presence], [data-route], [data-sync]), #online, #invite, #join-form; window.shell.
import { joinRoom } from '/dist/roomsync.browser.js';

const PALETTE = ['#e5484d', '#f76b15', '#c28a00', '#30a46c', '#12a594', '#0090ff', '#6e56cf', '#d6409f'];
const ADJECTIVES = ['Quiet', 'Brisk', 'Sunny', 'Clever', 'Gentle', 'Lucky', 'Bold', 'Calm'];
const ANIMALS = ['Otter', 'Heron', 'Fox', 'Lynx', 'Panda', 'Robin', 'Koala', 'Orca'];
const RETRY_MS = 5000;
const pick = (list) => list[Math.floor(Math.random() * list.length)];
const hash = (s) => [...String(s)].reduce((h, c) => (Math.imul(h, 31) + c.codePointAt(0)) >>> 0, 7);

/** A stable colour for an id (or a name). */
export const colorFor = (id) => PALETTE[hash(id) % PALETTE.length];
/** "Ada Lovelace" -> "AL", "bo" -> "B". */
export const initials = (name) => (String(name || '?').trim().split(/\s+/).slice(0, 2).map((w) => [...w][0]).join('') || '?').toUpperCase();
/** A random room name such as "brisk-otter-42". */
export const randomRoom = () => `${pick(ADJECTIVES)}-${pick(ANIMALS)}-${10 + Math.floor(Math.random() * 90)}`.toLowerCase();
export const ROOM_PATTERN = '[A-Za-z0-9_.:@+\\-]{1,128}';

export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

export async function startShell({ product = '', peers, idleMs } = {}) {
  const params = new URLSearchParams(location.search);
  let roomName = params.get('room')?.trim();
  let name = params.get('name')?.trim().slice(0, 40);
  const idle = Number(params.get('idle')) > 0 ? Number(params.get('idle')) : idleMs ?? 60_000;

  const header = buildHeader(product);
  const bannerEl = buildBanner();
  document.body.prepend(header.root, bannerEl.root);
  header.root.classList.add('joining'); // no status or invite link before there is a room
  let password; // kept in memory only, never in the URL
  if (!roomName || !name) ({ room: roomName, name, password } = await joinForm({ room: roomName, name }));
  password ||= undefined;
  localStorage.setItem('roomsync.name', name);
  header.root.classList.remove('joining');
  header.setRoom(roomName);
  document.title = `${roomName} · ${product} · roomsync`;

  // One user per tab, the same after a reload (sessionStorage): messages and reactions carry it.
  let userId = sessionStorage.getItem('roomsync.user');
  if (!/^[a-z0-9]{12}$/.test(userId ?? '')) sessionStorage.setItem('roomsync.user', (userId = [...crypto.getRandomValues(new Uint8Array(12))].map((b) => 'abcdefghijklmnopqrstuvwxyz0123456789'[b % 36]).join('')));
  const listeners = new Set();
  const joinListeners = new Set();
  const changed = () => { for (const cb of listeners) cb(); render(); };
  let room = null;
  let joinOptions = null;
  let session = 0; // bumps on every (re)join and leave, so stale async work knows it is stale
  let phase = 'connecting'; // connecting | joined | offline | unreachable | refused
  let serverLost = false;
  let bannerKind = null;
  let retryTimer = null;
  let away = document.hidden;
  let extra = {};
  const refused = new Set(); // peers that use another password
  const peersEl = peers ?? document.getElementById('peers');

  const shell = {
    roomName,
    name,
    userId,
    color: colorFor(userId),
    online: true,
    get room() { return room; },
    join,
    setPresence(fields) { extra = { ...extra, ...fields }; publish(); },
    nameOf: (id) => (id === room?.peerId ? name : cleanName(room?.presence.get(id)?.name) || (refused.has(id) ? 'Someone' : 'Joining…')),
    colorOf: (id) => (id === room?.peerId ? shell.color : PALETTE.includes(room?.presence.get(id)?.color) ? room.presence.get(id).color : colorFor(id)),
    isAway: (id) => (id === room?.peerId ? away : room?.presence.get(id)?.away === true),
    onChange(cb) { listeners.add(cb); return () => listeners.delete(cb); },
    onJoin(cb) { joinListeners.add(cb); return () => joinListeners.delete(cb); },
    banner,
    status,
  };

  function publish() {
    try {
      room?.presence.set({ ...extra, name, color: shell.color, userId, away });
    } catch (err) {
      console.warn(err);
    }
  }

  async function join(options = joinOptions ?? {}) {
    joinOptions = options;
    clearTimeout(retryTimer);
    const mine = ++session;
    const old = room;
    room = null;
    if (old) await old.leave().catch(() => {});
    if (!shell.online || mine !== session) return changed(), null;
    phase = 'connecting';
    refused.clear();
    changed();
    let r;
    try {
      r = await joinRoom({ signaling: '/socket', room: roomName, password, ...options });
    } catch (err) {
      if (mine === session) failed(err);
      return null;
    }
    if (mine !== session) return r.leave(), null;
    if (!options.doc) joinOptions = { ...options, doc: r.doc }; // rejoins keep the document
    room = r;
    phase = 'joined';
    serverLost = false;
    if (bannerKind === 'server') banner(null);
    publish();
    const live = (fn) => (...args) => { if (mine === session) fn(...args); };
    r.on('peer-leave', live((peer) => {
      if (refused.delete(peer) && refused.size === 0 && bannerKind === 'password') banner(null);
      changed();
    }));
    for (const e of ['peer-join', 'presence', 'typing', 'synced', 'peer-synced']) r.on(e, live(changed));
    r.on('error', live(roomError));
    r.signaling.on('disconnect', live(() => { serverLost = true; changed(); }));
    r.signaling.on('reconnect', live(() => { serverLost = false; changed(); }));
    for (const cb of joinListeners) {
      try {
        cb(r);
      } catch (err) {
        console.error(err);
      }
    }
    changed();
    return r;
  }

  function failed(err) {
    if (err?.code === 'connect_failed' || err?.code === 'timeout') {
      phase = 'unreachable';
      banner('Can’t reach the server.', `What you do here is kept in this window and syncs once it is back. Retrying every ${RETRY_MS / 1000} s…`,
        { kind: 'server', action: 'Retry now', onAction: () => join() });
      retryTimer = setTimeout(() => join(), RETRY_MS);
    } else if (err?.code === 'invalid_room') {
      phase = 'refused';
      banner('That room name doesn’t work.', 'Use 1 to 128 letters, digits or - _ . : @ + (no spaces).',
        { kind: 'room', action: 'Change room', onAction: () => { location.search = ''; } });
    } else {
      phase = 'refused';
      banner('Could not join the room.', err?.message ?? String(err), { kind: 'server', action: 'Try again', onAction: () => join() });
    }
    changed();
  }

  function roomError(err) {
    if (err.code === 'wrong_password') {
      if (err.peerId) refused.add(err.peerId);
      const n = refused.size;
      const who = `${n === 1 ? 'Someone in' : `${n} people in`} “${roomName}” ${n === 1 ? 'uses' : 'use'}`;
      const ask = () => askPassword();
      if (password) banner('Wrong password.', `${who} a different password, so you cannot connect${n === 1 ? '' : ' to them'}. Check it and join again.`, { kind: 'password', action: 'Change password', onAction: ask });
      else banner('This room needs a password.', `${who} a room password. Enter it to join.`, { kind: 'password', action: 'Enter password', onAction: ask });
      return changed();
    }
    if (err.code === 'peer_id_changed') return void join(); // the server forgot us: join afresh, same document
    console.warn('room:', err);
  }

  async function askPassword() {
    const got = await joinForm({ room: roomName, name, fixed: true });
    password = got.password || undefined;
    banner(null);
    join();
  }

  function status() {
    if (!shell.online || phase === 'offline') return 'offline';
    if (phase === 'unreachable' || phase === 'refused') return 'error';
    if (phase === 'connecting' || !room) return 'connecting';
    const others = room.getPeers();
    if (refused.size > 0 && others.every((p) => refused.has(p))) return 'error';
    if (serverLost && others.length === 0) return 'offline';
    if (others.length === 0) return 'connected';
    return room.synced ? 'synced' : 'syncing';
  }

  function statusText(state) {
    const n = room ? room.getPeers().length : 0;
    switch (state) {
      case 'offline': return shell.online ? 'Offline · reconnecting…' : 'Offline · changes kept';
      case 'error': return phase === 'unreachable' ? 'Server unreachable' : refused.size ? 'Wrong password' : 'Not joined';
      case 'connecting': return 'Connecting…';
      case 'connected': return 'Connected · just you';
      case 'syncing': return serverLost ? 'Server offline · syncing with peers…' : 'Syncing…';
      default: return serverLost ? 'Server offline · peers still linked' : `Synced · ${n + 1} people`;
    }
  }

  function render() {
    const state = status();
    header.setStatus(state, statusText(state));
    header.setOnline(shell.online);
    if (peersEl) renderPeers(peersEl, shell, refused);
  }

  function banner(title, text = '', { level = 'error', kind = 'note', action, onAction } = {}) {
    bannerKind = title ? kind : null;
    bannerEl.show(title, text, level, kind, action, onAction);
  }

  // Away: the tab is hidden, or no input for `idle` ms.
  let idleTimer;
  const setAway = (value) => {
    if (value === away) return;
    away = value;
    publish();
    changed();
  };
  const active = () => {
    clearTimeout(idleTimer);
    idleTimer = setTimeout(() => setAway(true), idle);
    if (!document.hidden) setAway(false);
  };
  for (const e of ['pointerdown', 'pointermove', 'keydown', 'wheel', 'touchstart', 'focus']) window.addEventListener(e, active, { passive: true });
  document.addEventListener('visibilitychange', () => (document.hidden ? setAway(true) : active()));
  active();

  header.onInvite(() => `${location.origin}${location.pathname}?room=${encodeURIComponent(roomName)}`);
  header.onToggle(() => {
    shell.online = !shell.online;
    if (shell.online) join();
    else {
      clearTimeout(retryTimer);
      session++;
      const old = room;
      room = null;
      phase = 'offline';
      old?.leave().catch(() => {});
      changed();
    }
  });
  window.addEventListener('pagehide', () => room?.leave());
  // Routes and sync flags change without an event now and then.
  setInterval(() => room && render(), 2000);
  // For scripts and tests.
  Object.defineProperty(window, 'shell', { value: shell, configurable: true });
  render();
  return shell;
}

const cleanName = (n) => (typeof n === 'string' && n.trim() ? n.trim().slice(0, 40) : '');

function renderPeers(list, shell, refused) {
  const room = shell.room;
  const ids = room ? [room.peerId, ...room.getPeers()] : [];
  const rows = ids.length ? ids : ['self'];
  list.replaceChildren(...rows.map((id) => {
    const self = id === 'self' || id === room?.peerId;
    const name = self ? shell.name : shell.nameOf(id);
    const li = el('li', 'peer');
    li.dataset.peer = id;
    li.classList.toggle('self', self);
    const isAway = self ? shell.isAway(room?.peerId) : shell.isAway(id);
    const typing = !self && room?.presence.isTyping(id);
    li.classList.toggle('is-away', !!isAway);
    li.classList.toggle('is-typing', !!typing);
    const avatar = el('span', 'avatar', initials(name));
    avatar.style.setProperty('--c', self ? shell.color : shell.colorOf(id));
    avatar.setAttribute('aria-hidden', 'true');
    const main = el('div', 'peer-main');
    const line = el('div', 'peer-name');
    line.append(el('span', 'name', name));
    if (self) line.append(el('span', 'tag', 'you'));
    if (typing) {
      const dots = el('span', 'dots');
      dots.title = 'typing';
      dots.append(el('i'), el('i'), el('i'));
      line.append(dots);
    }
    const meta = el('div', 'peer-meta');
    if (!self && refused.has(id)) meta.append(badge('bad', 'Different password'));
    else if (self && !room) meta.append(el('span', 'muted', 'not connected'));
    else {
      const presence = badge(isAway ? 'away' : 'online', isAway ? 'Away' : 'Online');
      presence.dataset.presence = isAway ? 'away' : 'online';
      meta.append(presence);
      const info = !self && room.peerInfo(id);
      if (info) {
        const route = badge(`route ${info.via}`, { datachannel: 'Direct', relay: 'Relay', gossip: 'Gossip' }[info.via] ?? info.via);
        route.dataset.route = info.via;
        route.title = { datachannel: 'Peer-to-peer WebRTC data channel', relay: 'Through the signaling server until a direct connection opens', gossip: 'Through other peers' }[info.via] ?? '';
        meta.append(route);
        const sync = badge(info.synced ? 'ok' : 'wait', info.synced ? 'In sync' : 'Syncing…');
        sync.dataset.sync = info.synced ? 'synced' : 'syncing';
        meta.append(sync);
      }
    }
    main.append(line, meta);
    li.append(avatar, main);
    return li;
  }));
  const count = document.getElementById('people-count');
  if (count) count.textContent = String(rows.length);
}

function badge(kind, text) {
  return el('span', `badge ${kind}`, text);
}

function buildHeader(product) {
  const root = el('header', 'top shell-top');
  const brand = el('a', 'brand');
  brand.href = '/';
  brand.append(el('span', 'logo'), 'roomsync', el('span', 'product', product));
  brand.querySelector('.logo').setAttribute('aria-hidden', 'true');
  const roomLabel = el('span', 'room-name');
  roomLabel.id = 'room-name';
  const left = el('div', 'shell-left');
  left.append(brand, roomLabel);
  const status = el('p', 'status');
  status.id = 'status';
  status.setAttribute('role', 'status');
  const dot = el('span', 'dot');
  dot.setAttribute('aria-hidden', 'true');
  const text = el('span', '', 'Connecting…');
  text.id = 'status-text';
  status.append(dot, text);
  // Buttons carry a long and a short label (phones show the short one).
  const label = (button, long, short = long) => button.replaceChildren(el('span', 'long', long), el('span', 'short', short));
  const invite = el('button', 'btn ghost small');
  label(invite, 'Copy invite link', 'Invite');
  invite.id = 'invite';
  invite.type = 'button';
  invite.title = 'Copy a link that opens this page in this room';
  const toggle = el('button', 'btn ghost small');
  toggle.id = 'online';
  toggle.type = 'button';
  const right = el('div', 'shell-right');
  right.append(status, invite, toggle);
  root.append(left, right);
  return {
    root,
    setRoom(name) {
      roomLabel.textContent = name;
      roomLabel.title = `Room ${name}`;
      brand.href = `/?room=${encodeURIComponent(name)}`; // back to the index, same room
    },
    setStatus(state, label) { status.dataset.state = state; text.textContent = label; },
    setOnline(on) {
      if (toggle.dataset.on === String(on)) return;
      toggle.dataset.on = String(on);
      label(toggle, on ? 'Go offline' : 'Go online', on ? 'Offline' : 'Online');
      toggle.setAttribute('aria-pressed', String(!on));
    },
    onToggle(cb) { toggle.addEventListener('click', cb); },
    onInvite(url) {
      invite.addEventListener('click', async () => {
        try {
          await navigator.clipboard.writeText(url());
          label(invite, 'Link copied', 'Copied');
        } catch {
          prompt('Copy this link:', url());
        }
        setTimeout(() => label(invite, 'Copy invite link', 'Invite'), 2000);
      });
    },
  };
}

function buildBanner() {
  const root = el('div', 'banner');
  root.id = 'banner';
  root.setAttribute('role', 'alert');
  root.hidden = true;
  const body = el('div', 'banner-body');
  const title = el('strong');
  title.id = 'banner-title';
  const text = el('span');
  text.id = 'banner-text';
  body.append(title, ' ', text);
  const action = el('button', 'btn small');
  action.id = 'banner-action';
  action.type = 'button';
  const close = el('button', 'icon-btn', '×');
  close.type = 'button';
  close.setAttribute('aria-label', 'Dismiss');
  close.addEventListener('click', () => { root.hidden = true; });
  root.append(body, action, close);
  return {
    root,
    show(t, x, level, kind, label, onAction) {
      root.hidden = !t;
      if (!t) return;
      root.dataset.level = level;
      root.dataset.kind = kind;
      title.textContent = t;
      text.textContent = x;
      action.hidden = !label;
      action.textContent = label || '';
      action.onclick = onAction || null;
    },
  };
}

/** The join form: resolves with { room, name, password } once submitted (and puts them in the URL). */
function joinForm({ room, name, fixed = false }) {
  const main = [...document.querySelectorAll('main')];
  for (const m of main) m.hidden = true;
  const card = el('form', 'card form join-card');
  card.id = 'join-form';
  card.autocomplete = 'off';
  card.append(el('h1', '', fixed ? 'Room password' : 'Join a room'),
    el('p', 'muted', fixed ? 'Everyone in the room uses the same one.' : 'Pick a room and the name others see. Share the link to invite people.'));
  const field = (label, input) => { const l = el('label', '', label); l.htmlFor = input.id; card.append(l, input); return input; };
  const roomInput = Object.assign(el('input'), { id: 'join-room', required: true, maxLength: 128, value: room || randomRoom() });
  roomInput.pattern = ROOM_PATTERN;
  roomInput.title = 'Letters, digits and - _ . : @ + (no spaces)';
  const nameInput = Object.assign(el('input'), { id: 'join-name', required: true, maxLength: 40, value: name || localStorage.getItem('roomsync.name') || `${pick(ADJECTIVES)} ${pick(ANIMALS)}` });
  if (!fixed) {
    field('Room', roomInput);
    field('Your name', nameInput);
  }
  const pw = Object.assign(el('input'), { id: 'join-password', type: 'password', autocomplete: 'new-password', placeholder: 'Optional' });
  field(fixed ? 'Password' : 'Room password', pw);
  if (!fixed) {
    pw.placeholder = 'Optional';
    card.append(el('p', 'muted small', 'With a password, everything between you and the others is end-to-end encrypted; everyone uses the same one.'));
  }
  const submit = el('button', 'btn primary', fixed ? 'Join with this password' : 'Join');
  submit.type = 'submit';
  submit.id = 'join';
  card.append(submit);
  document.body.append(card);
  (fixed ? pw : nameInput).focus();
  return new Promise((resolve) => {
    card.addEventListener('submit', (e) => {
      e.preventDefault();
      const out = { room: roomInput.value.trim(), name: nameInput.value.trim().slice(0, 40), password: pw.value };
      if (!fixed) {
        const q = new URLSearchParams(location.search);
        q.set('room', out.room);
        q.set('name', out.name);
        history.replaceState(null, '', `${location.pathname}?${q}`);
      }
      card.remove();
      for (const m of main) m.hidden = false;
      resolve(out);
    });
  });
}
