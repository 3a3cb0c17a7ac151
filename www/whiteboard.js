// Whiteboard: freehand lines, rectangles and circles that everyone in a room draws, moves and
// deletes together. Built only on roomsync's public API, loaded the way a page without a bundler
// does (dist/roomsync.browser.js next to roomsync.wasm).
//
// - Shapes live in the room's document: one LWW map, `shapes`, keyed by a random shape id. A draw
//   is map.set(newId, shape), a move sets that shape's new geometry, a delete is map.delete(id).
//   Concurrent draws never collide (distinct keys), concurrent edits of one shape resolve per key,
//   and a late joiner gets the whole map when it syncs. Shapes are written once per gesture (on
//   release), not per pointer move: every set stays in the document's history.
// - Pointers travel in presence ({ name, color, pointer: [x, y] | null, gesture }), throttled to
//   ~30/s; `gesture` is the stroke or shape being drawn, or the move being dragged, so others
//   watch it happen before it lands in the document.
//   Presence is last-writer-wins per peer (a late or duplicate message never moves a pointer
//   back), a late joiner gets everyone's current state, and a peer that leaves or vanishes takes
//   its pointer with it: exactly a pointer's semantics, for ~60 bytes a message. An action
//   would deliver every stale position and need its own cleanup.
import { createDoc, joinRoom } from '/dist/roomsync.browser.js';
import { W, H, addPoint, bounds, checkShape, dragShape, drawDraft, drawShape, moved, svgEl } from './whiteboard-shapes.js';

const $ = (id) => document.getElementById(id);
const INK = ['#14171f', '#e5484d', '#f76b15', '#d6a000', '#30a46c', '#0090ff', '#6e56cf', '#d6409f'];
const PEOPLE = INK.slice(1); // identity colours (not black: pointers must stand out)
const STROKE = 5;
const POINTER_MS = 33;
const LIVE_POINTS = 300; // of a stroke in progress, shown to others (the whole one lands on release)
const RETRY_MS = 5000;
const ROOM_RE = /^[A-Za-z0-9_.:@+-]{1,128}$/;

const hash = (s) => [...s].reduce((h, c) => (h * 31 + c.charCodeAt(0)) >>> 0, 7);
const colorOf = (peerId) => PEOPLE[hash(peerId) % PEOPLE.length];

const params = new URLSearchParams(location.search);
const roomName = (params.get('room') || '').trim();
const myName = (params.get('name') || '').trim().slice(0, 40);

// ---------------------------------------------------------------- the board

const svg = $('board');
const shapesLayer = $('shapes');
const overlay = $('overlay');
const state = {
  doc: null,
  shapes: null, // the room document's map of shapes
  room: null,
  phase: 'connecting', // connecting | joined | offline
  serverLost: false,
  tool: 'pen',
  color: INK[0],
  me: { name: myName, color: PEOPLE[0], pointer: null, gesture: null },
  selected: null, // shape id
  gesture: null, // what the active pointer is doing
  elements: new Map(), // shape id -> <g>
};

async function start() {
  $('board-view').hidden = false;
  $('room-title').textContent = roomName;
  document.title = `${roomName} · Whiteboard · roomsync`;
  const invite = new URL(location.href);
  invite.searchParams.delete('name'); // whoever opens the link picks their own name
  $('share-link').value = invite.href;

  state.doc = await createDoc();
  state.shapes = state.doc.getMap('shapes');
  state.shapes.observe(({ keysChanged }) => {
    for (const id of keysChanged) renderShape(id);
    sortShapes();
    afterShapesChanged();
  });
  buildToolbar();
  setupInput();
  afterShapesChanged();
  new ResizeObserver(() => renderPointers()).observe($('board-wrap'));
  render();
  connect();
}

function afterShapesChanged() {
  if (state.selected && !state.elements.has(state.selected)) state.selected = null;
  renderSelection();
  const n = state.elements.size;
  $('empty').hidden = n > 0 || state.gesture?.draft !== undefined;
  $('shape-count').textContent = n === 0 ? '' : `${n} shape${n === 1 ? '' : 's'}`;
}

/** Redraws one shape from the map (or removes it: deleted, or not a valid shape). */
function renderShape(id) {
  const old = state.elements.get(id);
  const shape = checkShape(state.shapes.get(id));
  if (!shape) {
    old?.remove();
    state.elements.delete(id);
    return;
  }
  const g = drawShape(id, shape);
  g.dataset.z = shape.z;
  if (old) old.replaceWith(g);
  else shapesLayer.append(g);
  state.elements.set(id, g);
}

/** Stacking order: z, then id, so every peer stacks concurrent shapes alike. */
function sortShapes() {
  const key = (g) => [Number(g.dataset.z), g.dataset.id];
  const now = [...shapesLayer.children];
  const sorted = [...now].sort((a, b) => {
    const [za, ia] = key(a);
    const [zb, ib] = key(b);
    return za - zb || (ia < ib ? -1 : ia > ib ? 1 : 0);
  });
  if (sorted.some((g, i) => g !== now[i])) shapesLayer.append(...sorted);
}

function shapeOf(id) {
  return checkShape(state.shapes.get(id));
}

function topZ() {
  let z = 0;
  for (const g of state.elements.values()) z = Math.max(z, Number(g.dataset.z));
  return z + 1;
}

function newId() {
  const bytes = crypto.getRandomValues(new Uint8Array(9));
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_');
}

function addShape(geometry) {
  const id = newId();
  state.shapes.set(id, { ...geometry, color: state.color, width: STROKE, z: topZ(), author: myName });
  return id;
}

// ---------------------------------------------------------------- toolbar

function buildToolbar() {
  for (const color of INK) {
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'wb-color';
    b.dataset.color = color;
    b.style.setProperty('--c', color);
    b.setAttribute('aria-label', `Colour ${color}`);
    b.addEventListener('click', () => setColor(color));
    $('colors').append(b);
  }
  for (const b of document.querySelectorAll('[data-tool]')) b.addEventListener('click', () => setTool(b.dataset.tool));
  setTool('pen');
  setColor(INK[0]);
}

function setTool(tool) {
  state.tool = tool;
  for (const b of document.querySelectorAll('[data-tool]')) b.setAttribute('aria-pressed', String(b.dataset.tool === tool));
  svg.dataset.tool = tool;
  if (tool !== 'select') select(null);
}

function setColor(color) {
  showColor(color);
  // Recolouring the selection is a move-like edit: set the shape's new value.
  const s = state.selected && shapeOf(state.selected);
  if (s && s.color !== color) state.shapes.set(state.selected, { ...s, color });
}

function showColor(color) {
  state.color = color;
  for (const b of document.querySelectorAll('.wb-color')) b.setAttribute('aria-pressed', String(b.dataset.color === color));
}

function select(id) {
  state.selected = id;
  const s = id && shapeOf(id);
  if (s && INK.includes(s.color)) showColor(s.color); // the palette shows the selection's colour
  renderSelection();
}

function renderSelection(dx = 0, dy = 0) {
  overlay.querySelector('.wb-selection')?.remove();
  for (const g of shapesLayer.querySelectorAll('.is-selected')) g.classList.remove('is-selected');
  const s = state.selected && shapeOf(state.selected);
  if (!s) return;
  state.elements.get(state.selected)?.classList.add('is-selected');
  const b = bounds(s);
  const pad = s.width / 2 + 8;
  overlay.append(svgEl('rect', {
    class: 'wb-selection', x: b.x - pad + dx, y: b.y - pad + dy, width: b.w + 2 * pad, height: b.h + 2 * pad, rx: 6,
  }));
}

// ---------------------------------------------------------------- pointer and touch input

/** Board coordinates of a pointer event (the SVG scales the W x H board to fit its box). */
function boardPoint(e) {
  const p = new DOMPoint(e.clientX, e.clientY).matrixTransform(svg.getScreenCTM().inverse());
  return { x: p.x, y: p.y };
}

const shapeAt = (e) => document.elementFromPoint(e.clientX, e.clientY)?.closest?.('#shapes [data-id]')?.dataset.id;
const onBoard = (p) => p.x >= 0 && p.y >= 0 && p.x <= W && p.y <= H;

function setupInput() {
  svg.addEventListener('pointerdown', (e) => {
    if (state.gesture || (e.pointerType === 'mouse' && e.button !== 0)) return; // one gesture at a time
    e.preventDefault();
    svg.setPointerCapture(e.pointerId);
    const p = boardPoint(e);
    const g = { id: e.pointerId, start: p };
    state.gesture = g;
    if (state.tool === 'pen') {
      g.draft = [];
      addPoint(g.draft, p);
    } else if (state.tool === 'rect' || state.tool === 'circle') {
      g.draft = null;
    } else if (state.tool === 'select') {
      g.move = shapeAt(e) || null;
      select(g.move);
    } else if (state.tool === 'erase') {
      erase(e);
    }
    drawGesture(p);
    publishPointer(p);
  });
  svg.addEventListener('pointermove', (e) => {
    const p = boardPoint(e);
    publishPointer(onBoard(p) || state.gesture ? p : null);
    if (state.gesture?.id !== e.pointerId) return;
    for (const ev of e.getCoalescedEvents?.() || [e]) drawGesture(boardPoint(ev));
    if (state.tool === 'erase') erase(e);
  });
  svg.addEventListener('pointerup', (e) => finish(e, true));
  svg.addEventListener('pointercancel', (e) => finish(e, false));
  svg.addEventListener('pointerleave', (e) => { if (e.pointerType === 'mouse' && !state.gesture) publishPointer(null); });
  document.addEventListener('keydown', (e) => {
    if (e.target.closest?.('input, textarea')) return;
    if ((e.key === 'Delete' || e.key === 'Backspace') && state.selected) {
      e.preventDefault();
      state.shapes.delete(state.selected);
      return;
    }
    if (e.key === 'Escape') return select(null);
    const tool = { p: 'pen', r: 'rect', c: 'circle', v: 'select', e: 'erase' }[e.key.toLowerCase()];
    if (tool && !e.ctrlKey && !e.metaKey && !e.altKey) setTool(tool);
  });
}

function erase(e) {
  const id = shapeAt(e);
  if (id) state.shapes.delete(id);
}

/** Shows the gesture in progress: the stroke so far, the shape being dragged out, or a move. */
function drawGesture(p) {
  const g = state.gesture;
  if (!g) return;
  g.last = p;
  if (state.tool === 'pen') addPoint(g.draft, p);
  else if (state.tool === 'rect' || state.tool === 'circle') g.draft = dragShape(state.tool, g.start, p);
  overlay.querySelector('.wb-draft')?.remove();
  if (g.draft) {
    const s = Array.isArray(g.draft) ? { kind: 'line', points: g.draft } : g.draft;
    overlay.prepend(drawDraft(s, state.color, STROKE));
    $('empty').hidden = true;
  }
  if (g.move) {
    const dx = p.x - g.start.x;
    const dy = p.y - g.start.y;
    state.elements.get(g.move)?.setAttribute('transform', `translate(${dx} ${dy})`);
    renderSelection(dx, dy);
  }
  state.me.gesture = liveGesture(g);
  schedulePresence();
}

/** What others see of a gesture in progress (small: presence holds at most 4 KB). */
function liveGesture(g) {
  if (g.move) return { move: g.move, dx: Math.round(g.last.x - g.start.x), dy: Math.round(g.last.y - g.start.y) };
  if (Array.isArray(g.draft)) return { kind: 'line', color: state.color, points: g.draft.slice(-LIVE_POINTS * 2).map(Math.round) };
  if (g.draft) return { ...g.draft, color: state.color };
  return null;
}

/** Ends the gesture: writes the new shape or the moved geometry to the map, once. */
function finish(e, commit) {
  const g = state.gesture;
  if (!g || g.id !== e.pointerId) return;
  state.gesture = null;
  overlay.querySelector('.wb-draft')?.remove();
  state.me.gesture = null;
  if (e.pointerType !== 'mouse') publishPointer(null); // a finger or pen that lifts is gone
  else schedulePresence();
  const end = g.last || g.start;
  if (commit && state.tool === 'pen' && g.draft.length >= 2) addShape({ kind: 'line', points: g.draft });
  if (commit && g.draft && !Array.isArray(g.draft)) {
    const big = g.draft.kind === 'rect' ? g.draft.w >= 4 || g.draft.h >= 4 : g.draft.r >= 3;
    if (big) addShape(g.draft); // a click is not a shape
  }
  if (g.move) {
    state.elements.get(g.move)?.removeAttribute('transform');
    const dx = end.x - g.start.x;
    const dy = end.y - g.start.y;
    const s = shapeOf(g.move); // null when someone deleted it meanwhile: a move never revives it
    if (commit && s && (dx || dy)) state.shapes.set(g.move, moved(s, dx, dy));
  }
  afterShapesChanged();
}

// ---------------------------------------------------------------- pointers (presence)

let pointerTimer = null;
let pointerSentAt = 0;

function publishPointer(p) {
  state.me.pointer = p ? [Math.round(p.x), Math.round(p.y)] : null;
  schedulePresence();
}

function schedulePresence() {
  if (pointerTimer) return; // the pending send takes the latest position
  const wait = Math.max(0, pointerSentAt + POINTER_MS - performance.now());
  pointerTimer = setTimeout(() => {
    pointerTimer = null;
    pointerSentAt = performance.now();
    publishPresence();
  }, wait);
}

function publishPresence() {
  const room = state.room;
  if (!room || room.left) return;
  try {
    room.presence.set(state.me);
  } catch (err) {
    console.warn('presence:', err);
  }
}

/** A peer's name, colour and pointer from its presence (anything a peer sends is checked). */
function identity(peerId) {
  const s = state.room?.presence.get(peerId) || {};
  const name = typeof s.name === 'string' && s.name.trim() ? s.name.trim().slice(0, 40) : null;
  const color = PEOPLE.includes(s.color) ? s.color : colorOf(peerId);
  const p = s.pointer;
  const pointer = Array.isArray(p) && p.length === 2 && p.every((v) => Number.isFinite(v) && v >= -50 && v <= W + 50) ? p : null;
  return { name, color, pointer };
}

/** Others' gestures in progress: strokes and shapes being drawn, shapes being dragged. */
function renderGestures() {
  const layer = $('remote');
  for (const el of shapesLayer.querySelectorAll('[data-dragged]')) {
    el.removeAttribute('transform');
    el.removeAttribute('data-dragged');
  }
  const drafts = [];
  for (const id of state.room ? state.room.getPeers() : []) {
    const v = state.room.presence.get(id)?.gesture;
    if (!v || typeof v !== 'object') continue;
    if (typeof v.move === 'string' && Number.isFinite(v.dx) && Number.isFinite(v.dy)) {
      const el = state.elements.get(v.move);
      if (el && state.gesture?.move !== v.move) {
        el.setAttribute('transform', `translate(${v.dx} ${v.dy})`);
        el.dataset.dragged = id;
      }
      continue;
    }
    const s = checkShape({ ...v, width: STROKE, z: 0 });
    if (s) {
      const draft = drawDraft(s, s.color, STROKE);
      draft.dataset.peer = id;
      drafts.push(draft);
    }
  }
  layer.replaceChildren(...drafts);
}

/** Places each peer's pointer (board units -> this screen) with its name. */
function renderPointers() {
  const layer = $('pointers');
  const room = state.room;
  const peers = room ? room.getPeers() : [];
  const ctm = svg.getScreenCTM();
  const box = $('board-wrap').getBoundingClientRect();
  const seen = new Set();
  for (const id of peers) {
    const { name, color, pointer } = identity(id);
    if (!pointer || !ctm) continue;
    seen.add(id);
    let el = layer.querySelector(`[data-peer="${CSS.escape(id)}"]`);
    if (!el) {
      el = document.createElement('div');
      el.className = 'wb-pointer';
      el.dataset.peer = id;
      el.innerHTML = '<svg viewBox="0 0 16 20" aria-hidden="true"><path d="M1 1l14 10-6.2 1.3L6 19z"/></svg><span class="wb-pointer-name"></span>';
      layer.append(el);
    }
    el.style.setProperty('--c', color);
    el.querySelector('.wb-pointer-name').textContent = name || 'Someone';
    const at = new DOMPoint(pointer[0], pointer[1]).matrixTransform(ctm);
    el.style.transform = `translate(${at.x - box.left}px, ${at.y - box.top}px)`;
    el.classList.toggle('flip', at.x - box.left > box.width - 120);
  }
  for (const el of [...layer.children]) if (!seen.has(el.dataset.peer)) el.remove();
}

// ---------------------------------------------------------------- joining, status, people

async function connect() {
  state.phase = 'connecting';
  render();
  let room;
  try {
    room = await joinRoom({ signaling: '/socket', room: roomName, doc: state.doc });
  } catch (err) {
    state.phase = 'offline';
    showBanner('Can’t reach the server.', `Your drawing stays in this window and syncs once it is back. Retrying every ${RETRY_MS / 1000} s…`, 'Retry now', retry);
    retryTimer = setTimeout(retry, RETRY_MS);
    console.warn('join:', err);
    return render();
  }
  hideBanner();
  state.room = room;
  state.phase = 'joined';
  state.me.color = colorOf(room.peerId);
  publishPresence();
  for (const ev of ['peer-join', 'peer-leave', 'synced', 'peer-synced', 'rejoin']) room.on(ev, render);
  room.on('presence', onPresence);
  room.on('error', (err) => console.warn('room:', err));
  room.signaling.on('disconnect', () => { state.serverLost = true; render(); });
  room.signaling.on('reconnect', () => { state.serverLost = false; render(); });
  render();
}

let retryTimer = null;
function retry() {
  clearTimeout(retryTimer);
  hideBanner();
  connect().catch(fatal);
}

// Presence changes ~30 times a second per drawing peer: move pointers; rebuild the people list
// only when a name or colour changed.
let peopleKey = '';
function onPresence() {
  pickColor();
  renderPointers();
  renderGestures();
  const key = JSON.stringify(peopleRows().map((r) => [r.id, r.name, r.color, r.synced]));
  if (key !== peopleKey) renderPeople();
}

/**
 * Two people with one colour are hard to tell apart: of two peers that share one, the one with
 * the greater peer id moves to the first colour nobody uses (the same rule runs on every page).
 */
function pickColor() {
  const room = state.room;
  if (!room) return;
  const others = room.getPeers().map((id) => [id, identity(id).color]);
  if (!others.some(([id, c]) => c === state.me.color && id < room.peerId)) return;
  const taken = new Set(others.map(([, c]) => c));
  const start = PEOPLE.indexOf(colorOf(room.peerId));
  const free = PEOPLE.map((_, i) => PEOPLE[(start + i) % PEOPLE.length]).find((c) => !taken.has(c));
  if (free && free !== state.me.color) {
    state.me.color = free;
    publishPresence();
    renderPeople();
  }
}

function status() {
  const room = state.room;
  if (state.phase === 'offline') return ['error', 'offline', 'Offline · drawing kept here'];
  if (!room) return ['connecting', 'connecting', 'Connecting…'];
  const n = room.getPeers().length;
  if (state.serverLost && n === 0) return ['error', 'offline', 'Offline · reconnecting…'];
  if (n === 0) return ['live', 'connected', 'Connected · just you'];
  if (!room.synced) return ['syncing', 'syncing', 'Syncing…'];
  return ['live', 'synced', `Synced · ${n + 1} people`];
}

function render() {
  const [look, word, text] = status();
  $('status').dataset.state = look;
  $('status').dataset.status = word;
  $('status-text').textContent = text;
  renderPeople();
  renderPointers();
  renderGestures();
}

function peopleRows() {
  const room = state.room;
  const rows = [{ id: 'self', self: true, name: myName, color: state.me.color, synced: !!room }];
  for (const id of room ? room.getPeers() : []) {
    const { name, color } = identity(id);
    rows.push({ id, name, color, synced: !!room.peerInfo(id)?.synced });
  }
  return rows;
}

function renderPeople() {
  const rows = peopleRows();
  peopleKey = JSON.stringify(rows.map((r) => [r.id, r.name, r.color, r.synced]));
  const el = (tag, cls, text) => {
    const n = document.createElement(tag);
    if (cls) n.className = cls;
    if (text !== undefined) n.textContent = text;
    return n;
  };
  $('peers').replaceChildren(...rows.map((r) => {
    const li = el('li', 'peer');
    li.dataset.peer = r.id;
    const avatar = el('span', 'avatar', (r.name || '?').charAt(0).toUpperCase());
    avatar.style.setProperty('--c', r.color);
    avatar.setAttribute('aria-hidden', 'true');
    const main = el('div', 'peer-main');
    const line = el('div', 'peer-name');
    line.append(el('span', 'name', r.name || 'Joining…'));
    if (r.self) line.append(el('span', 'tag', 'you'));
    const meta = el('div', 'peer-meta');
    if (r.self) meta.append(el('span', 'muted', state.room ? 'this window' : 'not connected · drawing kept here'));
    else meta.append(el('span', `badge ${r.synced ? 'ok' : 'wait'}`, r.synced ? 'In sync' : 'Syncing…'));
    main.append(line, meta);
    li.append(avatar, main);
    return li;
  }));
  $('people-count').textContent = String(rows.length);
  $('alone').hidden = rows.length > 1 || !state.room;
}

// ---------------------------------------------------------------- banner, invite link, leaving

function showBanner(title, text, action, onAction) {
  $('banner-title').textContent = title;
  $('banner-text').textContent = text;
  $('banner-action').hidden = !action;
  $('banner-action').textContent = action || '';
  $('banner-action').onclick = onAction || null;
  $('banner').hidden = false;
}

function hideBanner() {
  $('banner').hidden = true;
}

function fatal(err) {
  console.error(err);
  showBanner('Something went wrong.', err.message, 'Reload', () => location.reload());
}

$('banner-close').addEventListener('click', hideBanner);
$('copy-link').addEventListener('click', async () => {
  try {
    await navigator.clipboard.writeText($('share-link').value);
    $('copy-link').textContent = 'Copied';
  } catch {
    $('share-link').select();
  }
  setTimeout(() => { $('copy-link').textContent = 'Copy'; }, 2000);
});
$('share-link').addEventListener('focus', (e) => e.target.select());
window.addEventListener('pagehide', () => { state.room?.leave(); });

// ---------------------------------------------------------------- start

if (!ROOM_RE.test(roomName) || !myName) {
  $('join-view').hidden = false;
  $('join-name').value = myName || localStorage.getItem('roomsync.name') || '';
  $('join-room').value = roomName || `board-${Math.random().toString(36).slice(2, 7)}`;
  $('status').hidden = true;
  $('join-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const name = $('join-name').value.trim();
    localStorage.setItem('roomsync.name', name);
    location.search = new URLSearchParams({ room: $('join-room').value.trim(), name }).toString();
  });
  (myName ? $('join-room') : $('join-name')).focus();
} else {
  start().catch(fatal);
}
