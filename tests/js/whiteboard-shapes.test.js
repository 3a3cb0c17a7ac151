// The whiteboard page's shape helpers (www/whiteboard-shapes.js): values from other peers are
// checked before they are drawn, moves keep everything but the geometry, freehand lines thin out.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_POINTS, addPoint, bounds, checkShape, dragShape, moved } from '../../www/whiteboard-shapes.js';

const style = { color: '#e5484d', width: 5, z: 3, author: 'Ada' };
const line = { kind: 'line', points: [10, 20, 30, 40, 50, 10], ...style };
const rect = { kind: 'rect', x: 100, y: 50, w: 200, h: 80, ...style };
const circle = { kind: 'circle', cx: 600, cy: 400, r: 90, ...style };

test('valid shapes of each kind are drawn as they are', () => {
  for (const s of [line, rect, circle]) assert.deepEqual(checkShape(s), s);
  assert.deepEqual(checkShape({ ...rect, extra: 'ignored' }), rect);
  assert.equal(checkShape({ ...rect, author: 42 }).author, '', 'a bad author is dropped, not the shape');
});

test('anything else from a peer is refused (null), never thrown on', () => {
  const bad = [
    null, undefined, 7, 'rect', [], [rect],
    { ...rect, kind: 'triangle' }, { ...rect, kind: undefined },
    { ...rect, color: 'red' }, { ...rect, color: '#e5484d;background:url(x)' }, { ...rect, color: undefined },
    { ...rect, width: 0 }, { ...rect, width: 41 }, { ...rect, width: '5' }, { ...rect, z: NaN },
    { ...rect, x: Infinity }, { ...rect, x: 1e9 }, { ...rect, w: -1 }, { ...rect, h: null },
    { ...circle, r: -2 }, { ...circle, cx: '600' },
    { ...line, points: [] }, { ...line, points: [1, 2, 3] }, { ...line, points: 'M0 0L9 9' },
    { ...line, points: [1, 2, 'x', 4] }, { ...line, points: new Array(2 * MAX_POINTS + 2).fill(1) },
  ];
  for (const v of bad) assert.equal(checkShape(v), null, JSON.stringify(v));
});

test('a move changes the geometry only (same colour, width, z, author)', () => {
  assert.deepEqual(moved(rect, 10, -20), { ...rect, x: 110, y: 30 });
  assert.deepEqual(moved(circle, -100, 0.25), { ...circle, cx: 500, cy: 400.3 });
  assert.deepEqual(moved(line, 1, 2), { ...line, points: [11, 22, 31, 42, 51, 12] });
  assert.deepEqual(bounds(moved(line, 1, 2)), { x: 11, y: 12, w: 40, h: 30 });
});

test('drags make rectangles from any corner and circles from the centre', () => {
  assert.deepEqual(dragShape('rect', { x: 300, y: 200 }, { x: 100, y: 250 }), { kind: 'rect', x: 100, y: 200, w: 200, h: 50 });
  assert.deepEqual(dragShape('circle', { x: 100, y: 100 }, { x: 130, y: 140 }), { kind: 'circle', cx: 100, cy: 100, r: 50 });
  assert.deepEqual(bounds({ kind: 'circle', cx: 100, cy: 100, r: 50 }), { x: 50, y: 50, w: 100, h: 100 });
});

test('freehand points closer than 2 units are dropped and lines stop growing at MAX_POINTS', () => {
  const points = [];
  assert.equal(addPoint(points, { x: 0, y: 0 }), true);
  assert.equal(addPoint(points, { x: 1, y: 1 }), false);
  assert.equal(addPoint(points, { x: 3.04, y: 0 }), true);
  assert.deepEqual(points, [0, 0, 3, 0]);
  for (let i = 0; points.length < 2 * MAX_POINTS; i++) addPoint(points, { x: 10 + 3 * i, y: 0 });
  assert.equal(addPoint(points, { x: -500, y: -500 }), false);
  assert.equal(points.length, 2 * MAX_POINTS);
  assert.notEqual(checkShape({ ...line, points }), null, 'the longest line a page makes is a valid shape');
});
