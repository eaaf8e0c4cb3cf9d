import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readlinkSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { ROOT } from '../support/process.js';

/**
 * #23: two `npm start` from one checkout at the same moment each build, then run what they built. The old
 * build emptied dist/node and rewrote it in place, so the second start could load a half-written folder
 * (ERR_MODULE_NOT_FOUND). Each child here does what `npm start` does, build then node, into a fresh dist
 * folder of its own (inside the checkout, where node_modules resolves), so both really build at once.
 */
const dist = mkdtempSync(join(ROOT, 'dist', '.concurrency-'));
afterAll(() => rmSync(dist, { recursive: true, force: true }));

const distArg = relative(ROOT, dist);
// `help` loads the CLI's whole module graph (database, features) and exits 0 without a database.
const start = `node ${distArg}/node/src/cli/main.js help`;
const build = `node scripts/build.mjs --dist ${distArg}`;

function sh(script: string): Promise<{ code: number | null; output: string }> {
  const child = spawn('sh', ['-c', script], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, output })));
}

it('builds run at the same time and each start loads a complete build', async () => {
  const runs = await Promise.all([1, 2, 3].map(() => sh(`${build} && exec ${start}`)));
  for (const run of runs) {
    expect(run.output).not.toMatch(/ERR_MODULE_NOT_FOUND|Error/);
    expect(run.code).toBe(0);
    expect(run.output).toContain('usage: npm run cli');
  }
  // One finished build (the identical others were dropped), no temporary folder left, the link pointing at it.
  const builds = readdirSync(join(dist, 'builds'));
  expect(builds).toHaveLength(1);
  expect(readlinkSync(join(dist, 'node'))).toBe(join('builds', builds[0]!));
  expect(readdirSync(dist).sort()).toEqual(['builds', 'node']);
});

it('a start beside a rebuild loads the build it found, whole', async () => {
  // The build of the test above becomes "the previous build" that dist/node points at; the builder below then
  // really builds (its inputs' folder is missing) and swaps the link while the starter starts again and again.
  const [current] = readdirSync(join(dist, 'builds'));
  renameSync(join(dist, 'builds', current!), join(dist, 'builds', 'previous'));
  symlinkSync(join('builds', 'previous'), join(dist, 'next-link'));
  renameSync(join(dist, 'next-link'), join(dist, 'node'));

  const starter = sh(`for i in 1 2 3 4; do ${start} > /dev/null || exit 1; done; echo started 4 times`);
  const builder = sh(`for i in 1 2 3; do ${build} || exit 1; done`);
  const [started, built] = await Promise.all([starter, builder]);
  expect(built.code).toBe(0);
  expect(built.output).toContain('built '); // the first of its three really built
  expect(started.output).not.toMatch(/ERR_MODULE_NOT_FOUND|Error/);
  expect(started.code).toBe(0);
  expect(started.output).toContain('started 4 times');
  expect(readlinkSync(join(dist, 'node'))).toBe(join('builds', current!));
  expect(readdirSync(join(dist, 'builds')).sort()).toEqual([current, 'previous'].sort());
});
