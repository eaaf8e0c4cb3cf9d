// npm run build: the Node service as plain JavaScript in dist/node, run with `node` (npm start).
// Files are transpiled one by one (no bundle, no type-check: `npm run typecheck` does that), so
// paths relative to a module (../../sql) keep working; the migrations are copied beside them.
import { cpSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';

const root = new URL('..', import.meta.url).pathname;
const outdir = join(root, 'dist/node');
const sources = (dir) =>
  readdirSync(join(root, dir), { recursive: true })
    .map(String)
    .filter((f) => /\.tsx?$/.test(f) && !f.endsWith('.d.ts'))
    .map((f) => join(root, dir, f));

rmSync(outdir, { recursive: true, force: true });
const started = performance.now();
await build({
  entryPoints: sources('src').filter((f) => !f.endsWith('/src/worker.ts')),
  outdir,
  outbase: root,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: 'linked',
  tsconfig: join(root, 'tsconfig.json'),
  logLevel: 'warning',
});
cpSync(join(root, 'sql'), join(outdir, 'sql'), { recursive: true });
console.log(`built dist/node in ${Math.round(performance.now() - started)} ms`);
