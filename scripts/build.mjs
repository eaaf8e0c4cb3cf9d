// npm run build: the Node service and its CLI as plain JavaScript, run with `node` (npm start, npm run cli,
// npm run migrate, npm run practice). Files are transpiled one by one (no bundle, no type-check: `npm run
// typecheck` does that), so paths relative to a module (../../sql) keep working; the migrations are copied
// beside them.
//
// Several builds may run at once from one checkout (two `npm start`, or `npm start` beside `npm run cli`), and a
// process may be starting from the previous build while a new one is written. So a build never writes where a
// process reads: it goes to a temporary folder, which is renamed to dist/builds/<hash of its inputs> (a rename is
// atomic; if another build got there first, its identical result is kept and ours dropped), and dist/node, a
// symbolic link, is then swapped to it by renaming a new link over the old one. Node resolves the link when a
// process starts, so a running process keeps reading its own build. Unchanged inputs skip the build.
//
// node scripts/build.mjs [--dist DIR]   (DIR defaults to ./dist; the tests build into their own folder)
import { createHash, randomBytes } from 'node:crypto';
import {
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
} from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';

/** Older builds kept besides the current one: a process still starting from one of them can finish starting. */
const KEEP_PREVIOUS = 2;
/** A temporary folder this old belongs to a build that was interrupted (builds take about a second). */
const ABANDONED_AFTER_MS = 60 * 60 * 1000;

const root = new URL('..', import.meta.url).pathname;
const { values } = parseArgs({ options: { dist: { type: 'string' } } });
const dist = resolve(values.dist ?? join(root, 'dist'));
const builds = join(dist, 'builds');
const link = join(dist, 'node');

const filesUnder = (dir) =>
  readdirSync(join(root, dir), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath ?? e.path, e.name))
    .sort();
const sources = (dir) => filesUnder(dir).filter((f) => /\.tsx?$/.test(f) && !f.endsWith('.d.ts'));

// bench/practice: `npm run practice`, a command for users too (the benchmarks proper are a dev tool).
const compiled = ['src', 'bench/practice'];
const entryPoints = compiled.flatMap(sources).filter((f) => !f.endsWith('/src/worker.ts'));
const inputs = [
  ...compiled.flatMap(filesUnder),
  ...filesUnder('sql'),
  join(root, 'tsconfig.json'),
  join(root, 'package-lock.json'),
  new URL(import.meta.url).pathname,
];
const hash = createHash('sha256');
for (const file of inputs) hash.update(relative(root, file)).update('\0').update(readFileSync(file)).update('\0');
const id = hash.digest('hex').slice(0, 16);
const target = join(builds, id);

mkdirSync(builds, { recursive: true });
if (!existsSync(target)) {
  const started = performance.now();
  const temporary = join(builds, `.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    await build({
      entryPoints,
      outdir: temporary,
      outbase: root,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      sourcemap: 'linked',
      tsconfig: join(root, 'tsconfig.json'),
      logLevel: 'warning',
    });
    cpSync(join(root, 'sql'), join(temporary, 'sql'), { recursive: true });
    renameSync(temporary, target);
    // stderr: `npm run cli -- keys create …` prints a secret on stdout that scripts may read.
    console.error(`built ${relative(root, target) || target} in ${Math.round(performance.now() - started)} ms`);
  } catch (err) {
    // A concurrent build of the same inputs renamed its folder first: same content, keep theirs.
    if (!(existsSync(target) && ['ENOTEMPTY', 'EEXIST'].includes(err?.code))) throw err;
  } finally {
    rmSync(temporary, { recursive: true, force: true });
  }
} else {
  const now = new Date();
  utimesSync(target, now, now); // recently used: kept by the clean-up below
}

// A dist/node written by the build before this one is a folder, not a link: moved aside once.
if (lstatSync(link, { throwIfNoEntry: false })?.isDirectory()) {
  const aside = join(builds, `.old-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    renameSync(link, aside);
  } catch (err) {
    if (err?.code !== 'ENOENT') throw err; // another build moved it
  }
  rmSync(aside, { recursive: true, force: true });
}
const newLink = join(dist, `.node-${process.pid}-${randomBytes(4).toString('hex')}`);
symlinkSync(relative(dist, target), newLink, 'dir');
renameSync(newLink, link);

// Bounded disk: the current build and the few used last before it stay, and what an interrupted build left.
const entries = readdirSync(builds).map((name) => ({ name, mtime: statSync(join(builds, name)).mtimeMs }));
const others = entries.filter((e) => e.name !== id && !e.name.startsWith('.')).sort((a, b) => b.mtime - a.mtime);
const abandoned = entries.filter((e) => e.name.startsWith('.') && Date.now() - e.mtime > ABANDONED_AFTER_MS);
for (const old of [...others.slice(KEEP_PREVIOUS), ...abandoned]) {
  rmSync(join(builds, old.name), { recursive: true, force: true });
}
