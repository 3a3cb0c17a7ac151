// The TypeScript declarations of all three entry points ('roomsync', 'roomsync/signaling',
// 'roomsync/server'), checked in place: strict tsc on the small consumer app in tests/types/,
// which imports the package by its own name (package self-reference through "exports"), once
// with Node.js ESM resolution (node16) and once as a bundler resolves. The same check on the
// packed and installed tarball is in package.test.js.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { typeCheck } from './helpers/tsc.js';

const typesDir = fileURLToPath(new URL('../types/', import.meta.url));

for (const config of ['tsconfig.json', 'tsconfig.bundler.json']) {
  test(`strict tsc passes on tests/types/consumer.ts (${config})`, async () => {
    const { code, output } = await typeCheck(join(typesDir, config));
    assert.equal(output.trim(), '', 'tsc reported errors');
    assert.equal(code, 0);
  });
}

// The declarations follow the code: every option the server reads (`opts.<name>` in
// js/server/*.js) is declared in ServerOptions.
test('roomsync/server: every option the server reads is declared in ServerOptions', () => {
  const serverDir = fileURLToPath(new URL('../../js/server/', import.meta.url));
  const read = new Set();
  for (const f of readdirSync(serverDir).filter((n) => n.endsWith('.js'))) {
    for (const m of readFileSync(join(serverDir, f), 'utf8').matchAll(/\bopts\.([A-Za-z]\w*)/g)) read.add(m[1]);
  }
  const dts = readFileSync(join(serverDir, 'index.d.ts'), 'utf8');
  const body = dts.match(/export interface ServerOptions \{([\s\S]*?)\n\}/)[1];
  const declared = new Set([...body.matchAll(/^ {2}(\w+)\?:/gm)].map((m) => m[1]));
  assert.ok(read.size > 10, 'found the options the server reads');
  assert.deepEqual([...read].filter((o) => !declared.has(o)).sort(), []);
});
