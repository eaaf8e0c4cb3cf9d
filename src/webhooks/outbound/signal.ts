/**
 * In-process wake-up: enqueueEvent rings it, the delivery worker of the same
 * process listens. It rings before the caller's transaction commits, so a
 * listener polls again briefly afterwards too (see worker.ts). Workers in
 * other processes find the rows by polling.
 */
type Listener = () => void;

const listeners = new Set<Listener>();

export function onOutboxSignal(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function signalOutbox(): void {
  for (const listener of listeners) {
    try {
      listener();
    } catch {
      // a listener's failure is its own business
    }
  }
}
