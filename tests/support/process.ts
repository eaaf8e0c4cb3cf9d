import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { pause } from '../../src/lib/pause.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * `npm run build` (scripts/build.mjs): the service and CLI as JavaScript in dist/node, as `npm start` and
 * `npm run cli` run them. The global setup calls it once per run; it skips when nothing changed and is safe
 * to run beside another build (two test runs at once, or `npm start`).
 */
export function buildService() {
  execFileSync(process.execPath, ['scripts/build.mjs'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** The built JavaScript of a TypeScript entry point: `src/cli/main.ts` → `dist/node/src/cli/main.js`. */
export const builtEntry = (entry: string) => `dist/node/${entry.replace(/\.tsx?$/, '.js')}`;

export interface Spawned {
  child: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
}

/**
 * Runs an entry point of this repo (named by its TypeScript source, e.g. `src/node.ts`) in a real child
 * process, compiled, as production runs it: node on its built JavaScript (the global setup builds it), so
 * a signal reaches the service and not a wrapper process.
 */
export function spawnTs(entry: string, args: string[], env: Record<string, string | undefined>): Spawned {
  const child = spawn(process.execPath, ['--enable-source-maps', builtEntry(entry), ...args], {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => out, exited };
}

/** Runs to completion; resolves with exit code and combined output. */
export async function runTs(entry: string, args: string[], env: Record<string, string | undefined>) {
  const p = spawnTs(entry, args, env);
  const code = await p.exited;
  return { code, output: p.output() };
}

const POLL_INTERVAL_MS = 100;

/** Polls `check` until it holds, failing at the deadline: the tests' way to wait for something to happen. */
export async function waitFor(check: () => Promise<boolean>, timeoutMs: number, what: string) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await pause(POLL_INTERVAL_MS);
  }
  throw new Error(`timed out waiting for ${what}`);
}

export const freePort = async () => {
  const { createServer } = await import('node:net');
  return new Promise<number>((resolve) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
};
