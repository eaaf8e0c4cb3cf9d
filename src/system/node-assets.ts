import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { DocsAssets } from './routes.js';

const swaggerDir = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));

/** Swagger UI's files read from the installed package (Node). */
export const nodeDocsAssets: DocsAssets = (file) => readFile(join(swaggerDir, file), 'utf8');
