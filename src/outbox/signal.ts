import { type Kysely, sql } from 'kysely';
import type { Database } from '../db/schema.js';

/**
 * Wake-ups for delivery workers, so a new delivery goes out within
 * milliseconds rather than at the next poll:
 *  - a NOTIFY on OUTBOX_CHANNEL in the enqueuing transaction, which
 *    PostgreSQL delivers to every listening worker (any process) when, and
 *    only if, that transaction commits;
 *  - an in-process signal for workers without a listening connection, rung
 *    before the commit (so such a worker polls again briefly afterwards).
 */
export const OUTBOX_CHANNEL = 'healthscore_outbox';

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

/** Announces new due deliveries from inside the transaction that wrote them. */
export async function announceDeliveries(trx: Kysely<Database>): Promise<void> {
  await sql`select pg_notify(${OUTBOX_CHANNEL}, '')`.execute(trx);
  signalOutbox();
}
