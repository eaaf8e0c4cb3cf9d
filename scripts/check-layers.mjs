// npm run check:layers: the import graph of src/ and bench/ keeps its layer order (docs/architecture.md).
// It fails on any import circle (type-only imports count too), on any import from a lower layer to a higher
// one, and on any file the layer map below does not place. Imports are read with a regular expression over
// `from '…'`, `import '…'` and `import('…')`, which covers every form the code base uses.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

const root = resolve(new URL('..', import.meta.url).pathname);

// The layer map (docs/architecture.md), highest first: a module may import its own layer and any layer
// below it, never above. Paths are from the repository root; a folder ends with '/'. The most specific
// (longest) matching path decides, so 'src/' catches the feature folders last.
export const LAYERS = [
  { name: 'entries', paths: ['src/node.ts', 'src/worker.ts', 'src/worker-modules.d.ts', 'src/cli/', 'bench/'] },
  { name: 'roots', paths: ['src/app.ts', 'src/compose/'] },
  // web/, proof/, alerts/, follow-ups/, notifications/, webhooks/, scoring/, signals/, outcomes/,
  // accounts/, people/, demo/, system/: every folder of src/ not named elsewhere.
  { name: 'features', paths: ['src/'] },
  { name: 'engines', paths: ['src/outbox/', 'src/jobs/'] },
  { name: 'platform', paths: ['src/http/', 'src/auth/', 'src/idempotency/'] },
  { name: 'base', paths: ['src/db/', 'src/i18n/', 'src/lib/', 'src/logger.ts', 'src/config.ts', 'src/encoding.ts'] },
];
const RANK = Object.fromEntries(LAYERS.map((layer, i) => [layer.name, i]));

/** The folders whose files are checked. */
export const CHECKED = ['src', 'bench'];

export function layerOf(file) {
  let best;
  for (const layer of LAYERS) {
    for (const p of layer.paths) {
      const hit = p.endsWith('/') ? file.startsWith(p) : file === p;
      if (hit && (!best || p.length > best.path.length)) best = { path: p, name: layer.name };
    }
  }
  return best?.name;
}

const SOURCE = /\.(ts|tsx|mts)$/;
function listSources(dir) {
  const abs = join(root, dir);
  if (!existsSync(abs)) return [];
  return readdirSync(abs, { recursive: true })
    .map(String)
    .filter((f) => SOURCE.test(f) && !f.includes('node_modules') && !f.startsWith('results/'))
    .map((f) => join(dir, f).split('\\').join('/'));
}

const IMPORT = /(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)['"]([^'"]+)['"]/gm;

/** The module specifiers a source text imports, comments left out (they name files in prose). */
export function importsOf(text) {
  // A comment starts a line or follows a space, unlike '/v1/*' or 'http://'.
  const code = text.replace(/(^|\s)(\/\*[\s\S]*?\*\/|\/\/.*$)/gm, '$1');
  return [...code.matchAll(IMPORT)].map((m) => m[1]);
}

function resolveImport(from, spec, known) {
  if (!spec.startsWith('.')) return undefined;
  const base = join(dirname(from), spec).split('\\').join('/');
  const stem = base.replace(/\.(m?js|jsx)$/, '');
  for (const candidate of [base, `${stem}.ts`, `${stem}.tsx`, `${stem}.mts`, `${stem}/index.ts`]) {
    if (known.has(candidate)) return candidate;
  }
  return null;
}

export function importGraph(dirs = CHECKED) {
  const files = dirs.flatMap(listSources);
  const known = new Set(files);
  const graph = new Map();
  const unresolved = [];
  for (const file of files) {
    const targets = new Set();
    for (const spec of importsOf(readFileSync(join(root, file), 'utf8'))) {
      const target = resolveImport(file, spec, known);
      if (target === null) unresolved.push(`${file} → ${spec}`);
      else if (target) targets.add(target);
    }
    graph.set(file, [...targets].sort());
  }
  return { graph, unresolved };
}

// Tarjan's strongly connected components: every component of two files or more is a circle.
export function circles(graph) {
  let index = 0;
  const stack = [];
  const on = new Set();
  const idx = new Map();
  const low = new Map();
  const found = [];
  const visit = (v) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v), low.get(w)));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)));
    }
    if (low.get(v) === idx.get(v)) {
      const component = [];
      let w;
      do {
        w = stack.pop();
        on.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || (graph.get(v) ?? []).includes(v)) found.push(component.sort());
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) visit(v);
  return found;
}

export function violations(graph) {
  const problems = [];
  for (const [file, targets] of graph) {
    const from = layerOf(file);
    if (!from) {
      problems.push(`${file}: no layer in the map (scripts/check-layers.mjs LAYERS)`);
      continue;
    }
    for (const target of targets) {
      const to = layerOf(target);
      if (!to) continue; // reported as its own file
      if (RANK[to] < RANK[from]) problems.push(`${file} (${from}) imports ${target} (${to}): an arrow up`);
    }
  }
  return problems;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { graph, unresolved } = importGraph();
  const found = circles(graph);
  const upward = violations(graph);
  for (const u of unresolved) console.error(`unresolved import: ${u}`);
  for (const c of found) console.error(`import circle: ${c.join(' ⇄ ')}`);
  for (const v of upward) console.error(v);
  const edges = [...graph.values()].reduce((n, t) => n + t.length, 0);
  const failed = unresolved.length + found.length + upward.length;
  console.log(
    `check-layers: ${graph.size} files, ${edges} imports; ${found.length} circles, ${upward.length} upward imports, ${unresolved.length} unresolved`,
  );
  if (failed) process.exit(1);
}
