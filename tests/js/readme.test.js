// Runs every ```js test block of README.md as its own ES module (importing 'roomsync' resolves
// to this package) and checks the lines it prints against its `// → expected` comments.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';

import { repoRoot } from './helpers/traces.js';

const run = promisify(execFile);
const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
const blocks = [...readme.matchAll(/^```js test\n([\s\S]*?)^```$/gm)].map((m) => ({
  code: m[1],
  line: readme.slice(0, m.index).split('\n').length,
}));

test('README has runnable examples', () => assert.ok(blocks.length >= 3, `found ${blocks.length}`));

for (const { code, line } of blocks) {
  test(`README.md example at line ${line}`, async () => {
    const expected = [...code.matchAll(/\/\/ → (.*)$/gm)].map((m) => m[1].trimEnd());
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', code], { cwd: repoRoot });
    assert.deepEqual(stdout.trimEnd().split('\n'), expected);
  });
}
