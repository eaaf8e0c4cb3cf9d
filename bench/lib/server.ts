import { type ChildProcess, fork } from 'node:child_process';

export type ServerKind = 'service' | 'bare';

export interface RunningServer {
  url: string;
  /** Listens to the child's IPC messages after start-up (e.g. the rescoring stand-in's reports). */
  onMessage(listener: (message: unknown) => void): void;
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
    const onPort = (message: unknown) => {
      const port = (message as { port?: number }).port;
      if (port === undefined) return;
      child.off('message', onPort);
      resolve(port);
    };
    child.on('message', onPort);
    child.once('exit', (code) => reject(new Error(`the ${kind} server exited during start-up (code ${code})`)));
  });
  return {
    url: `http://127.0.0.1:${port}`,
    onMessage: (listener) => void child.on('message', listener),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.send('stop');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
