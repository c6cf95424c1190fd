// Finished jobs in the policy table: `pk=JOB, sk=<guid>` `{guid, operation, state, created_at}`.
// One small item per security group delete, written in the delete's transaction (jobItem); never
// changed after it is written.
import { type DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { NotFoundError } from '../domain/errors.js';
import type { Job, JobStore } from '../domain/jobs.js';
import { decodeJob } from './item-schemas.js';
import { jobKey } from './items.js';

/** The item a finished job is stored as. */
export function jobItem(job: Job): Record<string, unknown> {
  return { ...jobKey(job.guid), guid: job.guid, operation: job.operation, state: job.state, created_at: job.createdAt };
}

export class DynamoDbJobStore implements JobStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async getJob(guid: string): Promise<Job> {
    const { Item: item } = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: jobKey(guid), ConsistentRead: true }),
    );
    if (item === undefined) throw new NotFoundError('Job not found', [guid]);
    return decodeJob(item);
  }
}
