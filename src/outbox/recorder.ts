import type { Kysely } from 'kysely';
import { within } from '../lib/deadline.js';
import { retrying } from '../db/retry.js';
import type { Database } from '../db/schema.js';
import type { ClaimedDelivery } from './claims.js';
import { type AttemptResult, recordSuccesses } from './results.js';

type Success = { claim: ClaimedDelivery; result: AttemptResult };

/**
 * Group commit for successful attempts, the common case: while one batch is
 * being written, the successes that finish meanwhile wait and go in the next
 * (recordSuccesses, one statement each). Resolves to whether the lease was
 * still held; rejects if the batch could not be written.
 */
export class SuccessRecorder {
  private waiting: { item: Success; settle: (recorded: boolean | Error) => void }[] = [];
  private writing = false;

  /** `timeoutMs`: a batch not written by then fails (its leases run out and the deliveries come round again). */
  constructor(
    private readonly db: Kysely<Database>,
    private readonly timeoutMs = 30_000,
  ) {}

  record(item: Success): Promise<boolean> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ item, settle: (r) => (r instanceof Error ? reject(r) : resolve(r)) });
      if (!this.writing) void this.write();
    });
  }

  private async write(): Promise<void> {
    this.writing = true;
    while (this.waiting.length > 0) {
      const batch = this.waiting.splice(0, 500);
      try {
        // A write stuck on a connection lost in a database restart must not hold every later success behind it.
        const recorded = await within(
          withRetries(() => recordSuccesses(this.db, batch.map(({ item }) => ({ lease: item.claim, result: item.result })))),
          this.timeoutMs,
          () => new Error(`successes not recorded within ${this.timeoutMs} ms`),
        );
        for (const { item, settle } of batch) settle(recorded.has(item.claim.deliveryId));
      } catch (err) {
        for (const { settle } of batch) settle(err instanceof Error ? err : new Error(String(err)));
      }
    }
    this.writing = false;
  }
}

/** A few quick retries whatever failed: a lost record means a duplicate send later. */
export const withRetries = <T>(write: () => Promise<T>): Promise<T> => retrying(write, { attempts: 3, when: () => true, baseDelayMs: 200 });
