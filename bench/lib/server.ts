import { type ChildProcess, fork } from 'node:child_process';

export type ServerKind = 'service' | 'bare';

export interface RunningServer {
  url: string;
  /** Listens to the child's IPC messages after start-up (e.g. the rescoring stand-in's reports). */
  onMessage(listener: (message: unknown) => void): void;
  /** Sends the child an IPC message. */
  send(message: unknown): void;
  stop(): Promise<void>;
}

const children = new Set<ChildProcess>();
process.on('exit', () => children.forEach((child) => child.kill('SIGKILL')));

/** Forks a bench child (a TypeScript entry) that reports `{ port }` once it listens. */
async function startChild(entry: URL, args: string[], env: Record<string, string>, what: string): Promise<RunningServer> {
  // BENCH_CHILD_NODE_OPTIONS: extra node flags for the children, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof` to profile the service.
  const extra = (process.env.BENCH_CHILD_NODE_OPTIONS ?? '').split(/\s+/).filter(Boolean);
  const child = fork(entry, args, { execArgv: ['--import', 'tsx', ...extra], env: { ...process.env, ...env } });
  children.add(child);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve(void children.delete(child))));
  const port = await new Promise<number>((resolve, reject) => {
    const onPort = (message: unknown) => {
      const port = (message as { port?: number }).port;
      if (port === undefined) return;
      child.off('message', onPort);
      resolve(port);
    };
    child.on('message', onPort);
    child.once('exit', (code) => reject(new Error(`the ${what} exited during start-up (code ${code})`)));
  });
  return {
    url: `http://127.0.0.1:${port}`,
    onMessage: (listener) => void child.on('message', listener),
    send: (message) => void child.send(message as never),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.send('stop');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Starts a bench target in its own process, so it never shares an event loop with the load generator. */
export const startServer = (kind: ServerKind, env: Record<string, string>) =>
  startChild(new URL('./server-child.ts', import.meta.url), [kind], env, `${kind} server`);

/** Starts the webhook receiver (receiver-child.ts) in its own process. */
export const startReceiver = () => startChild(new URL('./receiver-child.ts', import.meta.url), [], {}, 'webhook receiver');
