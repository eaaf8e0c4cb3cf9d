import { describe, expect, it } from 'vitest';
import { circles, importGraph, importsOf, layerOf, violations } from '../../scripts/check-layers.mjs';

/** The layer order of docs/architecture.md, checked over the import graph (also `npm run check:layers` in .ci/run). */
describe('the layer order', () => {
  it('the source tree has no import circle, no arrow up and no file outside the map', () => {
    const { graph, unresolved } = importGraph();
    expect(graph.size).toBeGreaterThan(200);
    expect(unresolved).toEqual([]);
    expect(circles(graph)).toEqual([]);
    expect(violations(graph)).toEqual([]);
  });

  it('places files by their most specific path', () => {
    expect(layerOf('src/node.ts')).toBe('entries');
    expect(layerOf('src/cli/main.ts')).toBe('entries');
    expect(layerOf('bench/run.ts')).toBe('entries');
    expect(layerOf('src/compose/jobs.ts')).toBe('roots');
    expect(layerOf('src/alerts/evaluate.ts')).toBe('features');
    expect(layerOf('src/outbox/worker.ts')).toBe('engines');
    expect(layerOf('src/jobs/runner.ts')).toBe('engines');
    expect(layerOf('src/http/problem.ts')).toBe('platform');
    expect(layerOf('src/lib/errors.ts')).toBe('base');
    expect(layerOf('tests/x.test.ts')).toBeUndefined();
  });

  it('reads every import form, type-only ones too, and not the ones in comments or strings', () => {
    const text = [
      "import type { A } from './a.js';",
      "import { b } from '../b.js';",
      "export { c } from './c.js';",
      "import './side-effect.js';",
      "type D = import('./d.js').D;",
      "const e = await import('./e.js');",
      "// import { f } from './f.js';",
      '/* import { g } from "./g.js"; */',
      "app.use('/v1/*', auth); const url = 'http://x/y'; // trailing",
    ].join('\n');
    expect(importsOf(text)).toEqual(['./a.js', '../b.js', './c.js', './side-effect.js', './d.js', './e.js']);
  });

  it('fails on an arrow up: an engine importing a feature, a feature importing a root, base importing http', () => {
    const graph = new Map([
      ['src/outbox/outbox.ts', ['src/notifications/fanout.ts']],
      ['src/follow-ups/plan-now.ts', ['src/compose/jobs.ts']],
      ['src/db/read-routing.ts', ['src/http/env.ts']],
      ['src/notifications/fanout.ts', ['src/outbox/events.ts', 'src/db/schema.ts']],
      ['src/compose/jobs.ts', []],
      ['src/http/env.ts', []],
      ['src/outbox/events.ts', []],
      ['src/db/schema.ts', []],
    ]);
    expect(violations(graph)).toEqual([
      'src/outbox/outbox.ts (engines) imports src/notifications/fanout.ts (features): an arrow up',
      'src/follow-ups/plan-now.ts (features) imports src/compose/jobs.ts (roots): an arrow up',
      'src/db/read-routing.ts (base) imports src/http/env.ts (platform): an arrow up',
    ]);
  });

  it('fails on a circle, however long, within one layer too', () => {
    const graph = new Map([
      ['src/signals/ingest.ts', ['src/signals/usage.ts']],
      ['src/signals/usage.ts', ['src/outcomes/repository.ts']],
      ['src/outcomes/repository.ts', ['src/signals/ingest.ts']],
      ['src/signals/schemas.ts', []],
    ]);
    expect(circles(graph)).toEqual([['src/outcomes/repository.ts', 'src/signals/ingest.ts', 'src/signals/usage.ts']]);
    expect(violations(graph)).toEqual([]);
  });
});
