// Cloud Controller's asynchronous jobs, as far as we need them: CF answers a security group delete
// with 202 and a job to poll. Our deletes finish before the answer, so each job is recorded
// COMPLETE and polling it says so at once.

export interface Job {
  readonly guid: string;
  /** CF's operation name, e.g. `security_group.delete`. */
  readonly operation: string;
  readonly state: 'COMPLETE';
  readonly createdAt: string;
  readonly updatedAt: string;
}

export interface JobStore {
  /** Records a job that has already finished. */
  recordCompleted(operation: string): Promise<Job>;
  /** NotFoundError for a guid no job has. */
  getJob(guid: string): Promise<Job>;
}
