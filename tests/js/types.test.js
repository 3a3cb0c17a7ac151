// The TypeScript declarations of all three entry points ('roomsync', 'roomsync/signaling',
// 'roomsync/server'), checked in place: strict tsc on the small consumer app in tests/types/,
// which imports the package by its own name (package self-reference through "exports"), once
// with Node.js ESM resolution (node16) and once as a bundler resolves. The same check on the
// packed and installed tarball is in package.test.js.
import assert from 'node:assert/strict';
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
