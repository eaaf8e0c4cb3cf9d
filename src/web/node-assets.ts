import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { WebAssets } from './index.js';

const uplotDir = join(dirname(createRequire(import.meta.url).resolve('uplot/package.json')), 'dist');

/** uPlot's files read from the installed package (Node); cached after the first read. */
const cache = new Map<string, Promise<string>>();
export const nodeWebAssets: WebAssets = (file) => {
  let hit = cache.get(file);
  if (!hit) cache.set(file, (hit = readFile(join(uplotDir, file), 'utf8')));
  return hit;
};
