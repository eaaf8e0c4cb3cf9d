import { type ChildProcess, fork } from 'node:child_process';

export type ServerKind = 'service' | 'bare';

export interface RunningServer {
  url: string;
  stop(): Promise<void>;
}

const children = new Set<ChildProcess>();
process.on('exit', () => children.forEach((child) => child.kill('SIGKILL')));

/** Starts a bench target in its own process, so it never shares an event loop with the load generator. */
export async function startServer(kind: ServerKind, env: Record<string, string>): Promise<RunningServer> {
  const child = fork(new URL('./server-child.ts', import.meta.url), [kind], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, ...env },
  });
  children.add(child);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve(void children.delete(child))));
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (message) => resolve((message as { port: number }).port));
    child.once('exit', (code) => reject(new Error(`the ${kind} server exited during start-up (code ${code})`)));
  });
  return {
    url: `http://127.0.0.1:${port}`,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.send('stop');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
