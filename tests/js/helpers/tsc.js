// Runs the repository's TypeScript compiler (the devDependency `typescript`) on a project.
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const repo = fileURLToPath(new URL('../../../', import.meta.url));

/** Path of the repository's tsc launcher. */
export function tscPath() {
  const require = createRequire(join(repo, 'package.json'));
  return join(dirname(require.resolve('typescript/package.json')), 'bin', 'tsc');
}

/** Runs `tsc -p <project file>`; resolves to { code, output } (output: everything tsc printed). */
export async function typeCheck(project) {
  try {
    const { stdout, stderr } = await run(process.execPath, [tscPath(), '-p', project], { cwd: dirname(project) });
    return { code: 0, output: stdout + stderr };
  } catch (err) {
    if (typeof err.code !== 'number') throw err; // tsc did not run at all
    return { code: err.code, output: `${err.stdout}${err.stderr}` };
  }
}
