// Whiteboard shapes: what one entry of the room's `shapes` map holds, how a value that came from
// another peer is checked, moved, measured and drawn as SVG. No I/O, no room: pure helpers.
//
//   line   { kind: 'line',   points: [x0, y0, x1, y1, ...], color, width, z, author }
//   rect   { kind: 'rect',   x, y, w, h, color, width, z, author }
//   circle { kind: 'circle', cx, cy, r, color, width, z, author }
//
// Coordinates are logical board units (the board is W x H whatever the screen), so every peer
// sees the same drawing at its own scale.

export const W = 1200;
export const H = 900;
export const MAX_POINTS = 2000; // per freehand line (pairs); longer strokes are thinned
const LIMIT = 10 * W; // coordinates beyond this are garbage, not a drawing
const SVG = 'http://www.w3.org/2000/svg';

const num = (v) => typeof v === 'number' && Number.isFinite(v) && Math.abs(v) <= LIMIT;
const round = (v) => Math.round(v * 10) / 10;

/** The shape as drawable, or null when the value (from any peer) is not a valid shape. */
export function checkShape(v) {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return null;
  if (typeof v.color !== 'string' || !/^#[0-9a-f]{6}$/i.test(v.color)) return null;
  if (!num(v.width) || v.width < 1 || v.width > 40 || !num(v.z)) return null;
  const base = { kind: v.kind, color: v.color, width: v.width, z: v.z, author: typeof v.author === 'string' ? v.author.slice(0, 40) : '' };
  if (v.kind === 'line') {
    const p = v.points;
    if (!Array.isArray(p) || p.length < 2 || p.length % 2 || p.length > 2 * MAX_POINTS || !p.every(num)) return null;
    return { ...base, points: p };
  }
  if (v.kind === 'rect') {
    if (![v.x, v.y, v.w, v.h].every(num) || v.w < 0 || v.h < 0) return null;
    return { ...base, x: v.x, y: v.y, w: v.w, h: v.h };
  }
  if (v.kind === 'circle') {
    if (![v.cx, v.cy, v.r].every(num) || v.r < 0) return null;
    return { ...base, cx: v.cx, cy: v.cy, r: v.r };
  }
  return null;
}

/** A shape from a drag between two board points (rect: corner to corner; circle: centre to rim). */
export function dragShape(kind, a, b) {
  if (kind === 'rect') {
    return { kind, x: round(Math.min(a.x, b.x)), y: round(Math.min(a.y, b.y)), w: round(Math.abs(b.x - a.x)), h: round(Math.abs(b.y - a.y)) };
  }
  return { kind: 'circle', cx: round(a.x), cy: round(a.y), r: round(Math.hypot(b.x - a.x, b.y - a.y)) };
}

/** Appends a point to a freehand line unless it is too close to the last one (keeps lines small). */
export function addPoint(points, p) {
  const n = points.length;
  if (n >= 2 && Math.hypot(p.x - points[n - 2], p.y - points[n - 1]) < 2) return false;
  if (n >= 2 * MAX_POINTS) return false;
  points.push(round(p.x), round(p.y));
  return true;
}

/** The same shape moved by (dx, dy): a new geometry for the map entry. */
export function moved(s, dx, dy) {
  if (s.kind === 'line') return { ...s, points: s.points.map((v, i) => round(v + (i % 2 ? dy : dx))) };
  if (s.kind === 'rect') return { ...s, x: round(s.x + dx), y: round(s.y + dy) };
  return { ...s, cx: round(s.cx + dx), cy: round(s.cy + dy) };
}

/** Bounding box { x, y, w, h } of the shape's geometry. */
export function bounds(s) {
  if (s.kind === 'rect') return { x: s.x, y: s.y, w: s.w, h: s.h };
  if (s.kind === 'circle') return { x: s.cx - s.r, y: s.cy - s.r, w: 2 * s.r, h: 2 * s.r };
  const xs = s.points.filter((_, i) => i % 2 === 0);
  const ys = s.points.filter((_, i) => i % 2 === 1);
  const x = Math.min(...xs);
  const y = Math.min(...ys);
  return { x, y, w: Math.max(...xs) - x, h: Math.max(...ys) - y };
}

export function svgEl(tag, attrs = {}) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  return el;
}

function geometry(s) {
  if (s.kind === 'rect') return ['rect', { x: s.x, y: s.y, width: s.w, height: s.h, rx: 2 }];
  if (s.kind === 'circle') return ['circle', { cx: s.cx, cy: s.cy, r: s.r }];
  const p = s.points.length === 2 ? [...s.points, ...s.points] : s.points; // a tap: a dot
  let d = `M${p[0]} ${p[1]}`;
  for (let i = 2; i < p.length; i += 2) d += `L${p[i]} ${p[i + 1]}`;
  return ['path', { d }];
}

/**
 * One shape as an SVG group: a wide invisible copy that catches the pointer (thin lines are
 * hard to hit, a finger more so) under the visible stroke. Names are set as text, never HTML.
 */
export function drawShape(id, s) {
  const g = svgEl('g', { class: 'wb-shape', 'data-id': id, 'data-kind': s.kind });
  const [tag, attrs] = geometry(s);
  g.append(
    svgEl(tag, { ...attrs, class: 'wb-hit', 'stroke-width': s.width + 18 }),
    svgEl(tag, { ...attrs, class: 'wb-ink', stroke: s.color, 'stroke-width': s.width }),
  );
  if (s.author) {
    const title = svgEl('title');
    title.textContent = `${s.kind === 'line' ? 'Line' : s.kind === 'rect' ? 'Rectangle' : 'Circle'} by ${s.author}`;
    g.prepend(title);
  }
  return g;
}

/** A preview of a shape being drawn (no hit area, not in the map yet). */
export function drawDraft(s, color, width) {
  const [tag, attrs] = geometry(s);
  return svgEl(tag, { ...attrs, class: 'wb-ink wb-draft', stroke: color, 'stroke-width': width });
}
