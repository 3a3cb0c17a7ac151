// The command line (js/cli.js): refusing bad configuration at startup, --help.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { createServer } from '../../../js/server/index.js';
import { createLogger } from '../../../js/server/log.js';

const CLI = path.resolve(import.meta.dirname, '../../../js/cli.js');

/** Runs the CLI to completion (it must exit by itself: bad input never gets to listen). */
function run(args, env = {}) {
  const r = spawnSync(process.execPath, [CLI, ...args], { env: { ...process.env, LOG_LEVEL: '', ...env }, encoding: 'utf8', timeout: 20_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('an unknown LOG_LEVEL (env or --log-level) is refused at startup, naming the allowed values', () => {
  for (const [args, env, name] of [
    [['serve', '--port', '0'], { LOG_LEVEL: 'bogus' }, 'LOG_LEVEL'],
    [['serve', '--port', '0', '--log-level', 'bogus'], {}, '--log-level'],
    [['serve', '--port', '0', '--log-level', 'bogus'], { LOG_LEVEL: 'info' }, '--log-level'],
  ]) {
    const r = run(args, env);
    assert.notEqual(r.code, 0, `${name}=bogus must not start (stderr: ${r.stderr})`);
    assert.match(r.stderr, new RegExp(`${name}.*"bogus"`));
    assert.match(r.stderr, /debug, info, warn, error, silent/);
    assert.doesNotMatch(r.stderr, /"msg":"listening"/);
  }
});

test('the library refuses an unknown level too', async () => {
  assert.throws(() => createLogger({ level: 'verbose' }), /log level must be one of debug, info, warn, error, silent; got "verbose"/);
  await assert.rejects(createServer({ port: 0, logger: 'loud', staticDirs: [] }), /got "loud"/);
  assert.equal(createLogger({ level: 'warn' }).level, 'warn');
});
