// scripts/test.sh (what `npm test` and CI run) must not say "all tests passed" and nothing else
// when tests did not run: on a clone without the editing traces, the trace replays are skipped
// (not passed) and the final line names them. Checked on a stand-in repository holding the real
// script, with no-op setup/build scripts, a tiny node:test suite and `ctest` replaced by a stub
// that prints what ctest prints when the trace tests skip; and the real ctest on build/.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const repo = fileURLToPath(new URL('../../', import.meta.url));

const CTEST_SKIPPED = `Test project /x/build
1/3 Test #1: concurrent traces: per-agent replay ...***Skipped   0.01 sec
2/3 Test #2: text basics ...   Passed    0.01 sec
3/3 Test #3: sequential traces replay ...***Skipped   0.00 sec

100% tests passed, 0 tests failed out of 3

The following tests did not run:
\t  1 - concurrent traces: per-agent replay at the parents' version merges to endContent (Skipped)
\t  3 - sequential traces replay to the exact endContent and survive encoding (Skipped)
`;

// A stand-in repository: the real scripts/test.sh, everything it calls stubbed.
function standIn(t, { ctestOutput, jsTests }) {
  const root = mkdtempSync(join(tmpdir(), 'roomsync-testsh-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const clone = join(root, 'clone');
  mkdirSync(join(clone, 'scripts'), { recursive: true });
  mkdirSync(join(clone, 'tests', 'js'), { recursive: true });
  mkdirSync(join(root, 'bin'));
  cpSync(join(repo, 'scripts', 'test.sh'), join(clone, 'scripts', 'test.sh'));
  for (const f of ['setup.sh', 'build.sh']) writeFileSync(join(clone, 'scripts', f), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
  writeFileSync(join(root, 'ctest-output.txt'), ctestOutput);
  writeFileSync(join(root, 'bin', 'ctest'), `#!/bin/sh\ncat '${join(root, 'ctest-output.txt')}'\n`);
  chmodSync(join(root, 'bin', 'ctest'), 0o755);
  for (const [name, body] of Object.entries(jsTests)) writeFileSync(join(clone, 'tests', 'js', name), body);
  return { root, clone };
}

async function runTestSh({ root, clone }) {
  // Without NODE_TEST_CONTEXT (set for this file by node --test), the inner node --test runs as
  // a top-level one.
  const { NODE_TEST_CONTEXT, ...env } = process.env;
  const { stdout } = await run(join(clone, 'scripts', 'test.sh'), [], {
    cwd: clone,
    env: { ...env, PATH: `${join(root, 'bin')}:${env.PATH}`, ROOMSYNC_TRACES: '' },
    maxBuffer: 16 << 20,
  });
  return stdout.trimEnd().split('\n').pop();
}

test('without traces, the final line of test.sh says the trace replays were skipped, and why', async (t) => {
  const s = standIn(t, {
    ctestOutput: CTEST_SKIPPED,
    jsTests: {
      'a.test.js': `import { test } from 'node:test';
test('sequential traces', (t) => t.skip('NO TRACES FOUND in /x (set ROOMSYNC_TRACES): trace replays were NOT run'));
test('scale-out', { skip: 'redis-server not installed' }, () => {});
test('works', () => {});
`,
    },
  });
  // No ROOMSYNC_TRACES and no ../shared/traces beside the stand-in clone: a fresh clone.
  const last = await runTestSh(s);
  assert.match(last, /^=== all tests passed in \d+ s; skipped: /);
  assert.ok(
    last.includes(`trace replays (2 C++ tests, 1 JS test; no traces found in ${join(s.root, 'shared', 'traces')}; README "Trace data" says how to get them)`),
    last,
  );
  assert.ok(last.includes('redis-server not installed (1 JS test)'), last);
});

test('when nothing was skipped, the final line is the plain one', async (t) => {
  const s = standIn(t, {
    ctestOutput: 'Test project /x/build\n1/1 Test #1: text basics ...   Passed    0.01 sec\n\n100% tests passed, 0 tests failed out of 1\n',
    jsTests: { 'a.test.js': `import { test } from 'node:test';\ntest('works', () => {});\n` },
  });
  assert.match(await runTestSh(s), /^=== all tests passed in \d+ s$/);
});

const nativeTests = join(repo, 'build', 'roomsync_tests');
test('ctest reports the C++ trace replays as skipped, not passed, when there are no traces', { skip: !existsSync(nativeTests) && 'no native build in build/ (scripts/build.sh native)' }, async (t) => {
  const empty = mkdtempSync(join(tmpdir(), 'roomsync-notraces-'));
  t.after(() => rmSync(empty, { recursive: true, force: true }));
  const { stdout } = await run('ctest', ['--test-dir', join(repo, 'build'), '-R', 'traces'], {
    env: { ...process.env, ROOMSYNC_TRACES: empty },
  });
  const skipped = stdout.split('\n').filter((l) => l.endsWith('(Skipped)'));
  assert.equal(skipped.length, 2, stdout);
  assert.ok(!/Passed/.test(stdout), stdout);
});
