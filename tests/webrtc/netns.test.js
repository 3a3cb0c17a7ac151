// scripts/netns.sh and the namespace guard the WebRTC tests rely on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { inPrivateNetns, externalAddresses, assertPrivateNetns } from './helpers/netns.js';

const script = fileURLToPath(new URL('../../scripts/netns.sh', import.meta.url));
const run = { encoding: 'utf8', timeout: 20_000, killSignal: 'SIGKILL' }; // a hang fails, never blocks the suite

test('this test process runs in a private network namespace with no routable address', () => {
  assert.equal(inPrivateNetns(), true);
  assert.deepEqual(externalAddresses(), []);
  assertPrivateNetns();
});

test('netns.sh gives the command loopback and the veth pair, nothing else', () => {
  const r = spawnSync(script, ['ip', '-o', 'addr'], run);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /\blo\b.*127\.0\.0\.1/);
  assert.match(r.stdout, /rs0.*10\.77\.0\.1\/24/);
  const routes = spawnSync(script, ['ip', 'route'], run);
  assert.doesNotMatch(routes.stdout, /default/);
});

test('netns.sh without a command prints its usage', () => {
  const r = spawnSync(script, [], run);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /usage/);
});

test('netns.sh refuses clearly when not root', { skip: !existsSync('/usr/bin/setpriv') && 'no setpriv' }, () => {
  const r = spawnSync('/usr/bin/setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'sh', script, 'true'], run);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /must run as root/);
});
