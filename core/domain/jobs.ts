// Cloud Controller's asynchronous jobs, as far as we need them: CF answers a security group delete
// with 202 and a job to poll. Our deletes finish before the answer, so each job is recorded
// COMPLETE, in the delete's own transaction, and polling it says so at once.
import { randomUUID } from 'node:crypto';

export interface Job {
  readonly guid: string;
  /** CF's operation name, e.g. `security_group.delete`. */
  readonly operation: string;
  readonly state: 'COMPLETE';
  readonly createdAt: string;
  readonly updatedAt: string;
}

/** A job for an operation that finishes within the request that starts it. */
export function completedJob(operation: string, now: Date = new Date()): Job {
  const at = now.toISOString();
  return { guid: randomUUID(), operation, state: 'COMPLETE', createdAt: at, updatedAt: at };
}

export interface JobStore {
  /** NotFoundError for a guid no job has. */
  getJob(guid: string): Promise<Job>;
}
