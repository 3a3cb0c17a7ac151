// The npm package as a stranger gets it: `npm pack` (which runs "prepack": setup + the wasm build),
// the tarball's file list, an install of the tarball into a scratch app in a temp dir, all three
// entry points imported there, the CLI, and strict tsc on tests/types/consumer.ts against the
// installed copy. Also: ioredis is an optional peer, loaded only when Redis is configured.
//
// The scratch install is offline: the app lists the package's runtime dependencies as links to
// this repository's node_modules, so npm needs no registry (it has no package metadata cached).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

import { IOREDIS_MISSING, loadRedisClass } from '../../js/server/bus.js';
import { typeCheck } from './helpers/tsc.js';

const run = promisify(execFile);
const repo = fileURLToPath(new URL('../../', import.meta.url));
const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8'));
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

/** Runs a command; on failure the error message carries its whole output. */
async function sh(cmd, args, opts) {
  try {
    return await run(cmd, args, { maxBuffer: 64 << 20, ...opts });
  } catch (err) {
    err.message = `${cmd} ${args.join(' ')} failed (${err.code}):\n${err.stdout}\n${err.stderr}`;
    throw err;
  }
}

// A child Node.js process in which the package 'ioredis' cannot be found, as in an app that did
// not install it (a module resolve hook refuses it the way Node refuses a missing package).
function withoutIoredis(dir) {
  writeFileSync(
    join(dir, 'hide-ioredis.mjs'),
    `export async function resolve(specifier, context, next) {
  if (specifier === 'ioredis' || specifier.startsWith('ioredis/')) {
    const err = new Error("Cannot find package 'ioredis' imported from " + context.parentURL);
    err.code = 'ERR_MODULE_NOT_FOUND';
    throw err;
  }
  return next(specifier, context);
}
`,
  );
  writeFileSync(
    join(dir, 'register.mjs'),
    `import { register } from 'node:module';\nregister('./hide-ioredis.mjs', import.meta.url);\n`,
  );
  return ['--import', pathToFileURL(join(dir, 'register.mjs')).href];
}

describe('ioredis is optional', () => {
  test('package.json: an optional peer dependency, not a dependency', () => {
    assert.equal(pkg.dependencies?.ioredis, undefined);
    assert.ok(pkg.peerDependencies?.ioredis, 'ioredis is a peer dependency');
    assert.equal(pkg.peerDependenciesMeta?.ioredis?.optional, true);
  });

  test('a missing ioredis gets the install hint; other load failures keep their message', async () => {
    const missing = Object.assign(new Error("Cannot find package 'ioredis' imported from file:///app/x.js"), {
      code: 'ERR_MODULE_NOT_FOUND',
    });
    await assert.rejects(loadRedisClass(() => Promise.reject(missing)), (err) => {
      assert.equal(err.message, IOREDIS_MISSING);
      assert.equal(err.cause, missing);
      return true;
    });
    // ioredis is there but one of its own dependencies is not: not an "install ioredis" case.
    const broken = Object.assign(new Error("Cannot find module 'denque'\nRequire stack:\n- /app/node_modules/ioredis/built/index.js"), {
      code: 'MODULE_NOT_FOUND',
    });
    await assert.rejects(loadRedisClass(() => Promise.reject(broken)), /^Error: cannot load ioredis: Cannot find module 'denque'/);
    await assert.rejects(loadRedisClass(async () => ({})), /ioredis: it exports no Redis class/);
    // The devDependency here is the real thing.
    assert.equal(typeof (await loadRedisClass()), 'function');
  });

  test("importing 'roomsync' and 'roomsync/server' never loads ioredis; configuring Redis without it fails clearly", async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'roomsync-noredis-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const script = `
      await import('roomsync');
      await import('roomsync/signaling');
      const { createServer } = await import('roomsync/server');
      const server = await createServer({ port: 0, logger: 'silent' });   // no Redis: fine
      await server.close();
      let failure = null;
      try {
        await createServer({ port: 0, logger: 'silent', redisUrl: 'redis://127.0.0.1:1' });
      } catch (err) {
        failure = err.message;
      }
      let hidden = false;
      try { await import('ioredis'); } catch { hidden = true; }
      console.log(JSON.stringify({ failure, hidden }));`;
    // Run from the repository, so 'roomsync' resolves to it by name (package self-reference).
    const { stdout } = await sh(process.execPath, [...withoutIoredis(dir), '--input-type=module', '-e', script], { cwd: repo });
    const result = JSON.parse(stdout.trim().split('\n').pop());
    assert.equal(result.hidden, true, 'the hook hides ioredis');
    assert.equal(result.failure, IOREDIS_MISSING);
  });
});

describe('npm package', () => {
  let work;
  let tarball;
  let files;

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'roomsync-pack-'));
    // npm pack runs "prepack" (setup + wasm build: a no-op when dist/ is up to date).
    await sh(npm, ['pack', '--pack-destination', work, '--loglevel=error'], { cwd: repo });
    const found = readdirSync(work).filter((f) => f.endsWith('.tgz'));
    assert.deepEqual(found, [`${pkg.name}-${pkg.version}.tgz`]);
    tarball = join(work, found[0]);
    const { stdout } = await sh('tar', ['-tzf', tarball]);
    files = stdout.split('\n').filter(Boolean).map((f) => f.replace(/^package\//, ''));
  });
  after(() => work && rmSync(work, { recursive: true, force: true }));

  test('prepack builds the WebAssembly module', () => {
    assert.match(pkg.scripts.prepack, /scripts\/setup\.sh && scripts\/build\.sh wasm/);
  });

  test('the tarball holds what the README, the CLI and the exports point to, and nothing of the build', () => {
    for (const f of [
      'package.json',
      'README.md',
      'LICENSE',
      'docs/signaling.md',
      'dist/roomsync.mjs',
      'dist/roomsync.wasm',
      'dist/roomsync.browser.js',
      'js/browser.d.ts',
      'js/index.js',
      'js/index.d.ts',
      'js/signaling.js',
      'js/signaling.d.ts',
      'js/server/index.js',
      'js/server/index.d.ts',
      'js/cli.js',
      'www/index.html',
    ]) {
      assert.ok(files.includes(f), `${f} is in the tarball`);
    }
    // Every file the "exports" map, "main", "types" and "bin" name is shipped.
    const named = [pkg.main, pkg.types, ...Object.values(pkg.bin)];
    for (const target of Object.values(pkg.exports)) {
      named.push(...(typeof target === 'string' ? [target] : Object.values(target)));
    }
    for (const f of named) assert.ok(files.includes(f.replace(/^\.\//, '')), `${f} (named in package.json) is in the tarball`);
    const unwanted = files.filter((f) => /^(tests|cpp|wasm|scripts|build[^/]*|node_modules|bench-results|\.ci)\//.test(f));
    assert.deepEqual(unwanted, [], 'no sources of the core, tests, scripts or build output');
  });

  test('installed into a fresh app: the three entry points, the CLI and strict tsc work', async () => {
    const app = join(work, 'app');
    // The package's runtime dependencies, linked from this repository (offline install).
    const links = Object.fromEntries(
      Object.keys(pkg.dependencies).map((name) => [name, `file:${join(repo, 'node_modules', name)}`]),
    );
    cpSync(join(repo, 'tests', 'types'), app, { recursive: true });
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'scratch-app', private: true, type: 'module', dependencies: links }));
    await sh(npm, ['install', '--offline', '--no-audit', '--no-fund', '--loglevel=error', tarball], { cwd: app });

    const installed = join(app, 'node_modules', pkg.name);
    assert.ok(existsSync(join(installed, 'docs', 'signaling.md')));
    assert.ok(!existsSync(join(app, 'node_modules', 'ioredis')), 'ioredis (optional peer) is not installed');

    writeFileSync(
      join(app, 'smoke.mjs'),
      `import { createDoc } from 'roomsync';
import { connectSignaling } from 'roomsync/signaling';
import { createServer } from 'roomsync/server';
const doc = await createDoc();
doc.getText('t').insert(0, 'hello from the tarball');
const server = await createServer({ port: 0, logger: 'silent' });
const health = await (await fetch(server.httpUrl + '/healthz')).json();
const peer = await connectSignaling({ url: server.url, room: 'smoke' });
await peer.leave();
await server.close();
let redis = null;
try {
  await createServer({ port: 0, logger: 'silent', redisUrl: 'redis://127.0.0.1:1' });
} catch (err) {
  redis = err.message;
}
// roomsync/browser: the self-contained bundle for pages (loaded here only to list its exports).
const browser = { url: import.meta.resolve('roomsync/browser'), exports: Object.keys(await import('roomsync/browser')) };
console.log(JSON.stringify({ text: doc.getText('t').toString(), status: health.status, peerId: peer.peerId, redis, browser }));
`,
    );
    const { stdout } = await sh(process.execPath, ['smoke.mjs'], { cwd: app });
    const smoke = JSON.parse(stdout.trim().split('\n').pop());
    assert.equal(smoke.text, 'hello from the tarball');
    assert.equal(smoke.status, 'ok');
    assert.match(smoke.peerId, /^[0-9a-f]{16}$/);
    assert.equal(smoke.redis, IOREDIS_MISSING);
    assert.equal(smoke.browser.url, pathToFileURL(join(installed, 'dist', 'roomsync.browser.js')).href);
    for (const name of ['createDoc', 'joinRoom', 'connectSignaling']) assert.ok(smoke.browser.exports.includes(name), `roomsync/browser exports ${name}`);

    const help = await sh(join(app, 'node_modules', '.bin', 'roomsync'), ['--help'], { cwd: app });
    assert.match(help.stdout, /docs\/signaling\.md/);

    for (const config of ['tsconfig.json', 'tsconfig.bundler.json']) {
      const { code, output } = await typeCheck(join(app, config));
      assert.equal(output.trim(), '', `tsc -p ${config} reported errors`);
      assert.equal(code, 0);
    }
  });
});
