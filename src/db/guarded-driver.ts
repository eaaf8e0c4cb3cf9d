import type { DatabaseConnection, Dialect, Driver, Kysely, QueryCompiler, TransactionSettings } from 'kysely';
import { type CircuitBreaker, DatabaseUnavailableError } from './breaker.js';
import { within } from '../lib/deadline.js';
import { isDatabaseUnavailable } from './errors.js';

export interface GateOptions {
  /** Connections handed out at once: the pool's size. */
  max: number;
  /** Requests that may wait for one; more are refused at once. */
  maxWaiting: number;
  /** How long one may wait, ms; then it is refused. */
  maxWaitMs: number;
}

/**
 * Bounded waiting for a connection: at most `max` out at once, at most
 * `maxWaiting` waiting, none longer than `maxWaitMs`. What does not fit is
 * refused with DatabaseUnavailableError (503 + Retry-After) instead of
 * queueing inside the driver without end.
 */
export class ConnectionGate {
  private out = 0;
  private readonly queue: { grant: () => void; reject: (err: Error) => void; timer: ReturnType<typeof setTimeout> }[] = [];

  constructor(private readonly options: GateOptions) {}

  async enter(): Promise<void> {
    if (this.out < this.options.max) {
      this.out++;
      return;
    }
    if (this.queue.length >= this.options.maxWaiting) {
      throw new DatabaseUnavailableError(`the database is busy: ${this.queue.length} requests are waiting for a connection already; retry the request`, 1);
    }
    await new Promise<void>((resolve, reject) => {
      const entry = {
        grant: () => {
          clearTimeout(entry.timer);
          resolve();
        },
        reject,
        timer: setTimeout(() => {
          this.queue.splice(this.queue.indexOf(entry), 1);
          reject(new DatabaseUnavailableError(`the database is busy: no connection came free within ${this.options.maxWaitMs} ms; retry the request`, 1));
        }, this.options.maxWaitMs),
      };
      this.queue.push(entry);
    });
  }

  leave(): void {
    const next = this.queue.shift();
    if (next) next.grant(); // the slot passes straight to the next in line
    else this.out--;
  }

  /** Refuses everyone waiting (the breaker opened: none of them would get a working connection). */
  refuseWaiting(err: Error): void {
    for (const entry of this.queue.splice(0)) {
      clearTimeout(entry.timer);
      entry.reject(err);
    }
  }
}

/**
 * A Kysely dialect whose driver goes through the breaker and the gate: a
 * connection is refused at once while the breaker is open; a failure that
 * says the database is away opens it; acquiring a connection (connecting, if
 * need be) takes at most `acquireTimeoutMs`.
 */
export function guardDialect(
  dialect: Dialect,
  guard: { breaker: CircuitBreaker; gate: ConnectionGate; acquireTimeoutMs: number },
): Dialect {
  return {
    createAdapter: () => dialect.createAdapter(),
    createQueryCompiler: () => dialect.createQueryCompiler(),
    createIntrospector: (db: Kysely<any>) => dialect.createIntrospector(db),
    createDriver: () => new GuardedDriver(dialect.createDriver(), guard),
  };
}

class GuardedConnection implements DatabaseConnection {
  constructor(
    readonly inner: DatabaseConnection,
    private readonly report: (err: unknown) => void,
  ) {}

  async executeQuery<R>(query: Parameters<DatabaseConnection['executeQuery']>[0]) {
    try {
      return await this.inner.executeQuery<R>(query);
    } catch (err) {
      this.report(err);
      throw err;
    }
  }

  async *streamQuery<R>(query: Parameters<DatabaseConnection['streamQuery']>[0], chunkSize?: number) {
    try {
      yield* this.inner.streamQuery<R>(query, chunkSize);
    } catch (err) {
      this.report(err);
      throw err;
    }
  }
}

class GuardedDriver implements Driver {
  private readonly report = (err: unknown) => {
    if (err instanceof DatabaseUnavailableError || !isDatabaseUnavailable(err)) return;
    this.guard.breaker.trip(err);
  };

  constructor(
    private readonly inner: Driver,
    private readonly guard: { breaker: CircuitBreaker; gate: ConnectionGate; acquireTimeoutMs: number },
  ) {}

  init() {
    return this.inner.init();
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    const { breaker, gate, acquireTimeoutMs } = this.guard;
    breaker.check();
    await gate.enter();
    try {
      // Checked again: the breaker may have opened while this one waited.
      breaker.check();
      const acquiring = this.inner.acquireConnection();
      const connection = await within(acquiring, acquireTimeoutMs, () => {
        // Given up on: a connection that still comes goes straight back.
        acquiring.then((late) => this.inner.releaseConnection(late)).catch(() => {});
        const err = new DatabaseUnavailableError(`no database connection within ${acquireTimeoutMs} ms; retry the request`);
        breaker.trip(err);
        return err;
      });
      return new GuardedConnection(connection, this.report);
    } catch (err) {
      gate.leave();
      this.report(err);
      throw err;
    }
  }

  private unwrap = (connection: DatabaseConnection) => (connection as GuardedConnection).inner ?? connection;

  async beginTransaction(connection: DatabaseConnection, settings: TransactionSettings) {
    return this.reporting(() => this.inner.beginTransaction(this.unwrap(connection), settings));
  }

  async commitTransaction(connection: DatabaseConnection) {
    return this.reporting(() => this.inner.commitTransaction(this.unwrap(connection)));
  }

  async rollbackTransaction(connection: DatabaseConnection) {
    return this.reporting(() => this.inner.rollbackTransaction(this.unwrap(connection)));
  }

  async savepoint(connection: DatabaseConnection, name: string, compile: QueryCompiler['compileQuery']) {
    return this.reporting(() => this.inner.savepoint!(this.unwrap(connection), name, compile));
  }

  async rollbackToSavepoint(connection: DatabaseConnection, name: string, compile: QueryCompiler['compileQuery']) {
    return this.reporting(() => this.inner.rollbackToSavepoint!(this.unwrap(connection), name, compile));
  }

  async releaseSavepoint(connection: DatabaseConnection, name: string, compile: QueryCompiler['compileQuery']) {
    return this.reporting(() => this.inner.releaseSavepoint!(this.unwrap(connection), name, compile));
  }

  async releaseConnection(connection: DatabaseConnection) {
    try {
      await this.inner.releaseConnection(this.unwrap(connection));
    } finally {
      this.guard.gate.leave();
    }
  }

  async destroy() {
    this.guard.breaker.stop();
    await this.inner.destroy();
  }

  private async reporting<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (err) {
      this.report(err);
      throw err;
    }
  }
}
