// Finished jobs in the policy table: `pk=JOB, sk=<guid>` `{guid, operation, state, created_at}`.
// One small item per security group delete, written in the delete's transaction (jobItem); never
// changed after it is written.
import { type DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod/mini';
import { IntegrityError, NotFoundError } from '../domain/errors.js';
import type { Job, JobStore } from '../domain/jobs.js';
import { PARTITION_KEY, SORT_KEY } from './table-definition.js';

export const JOB_PK = 'JOB';

const jobItemSchema = z.object({
  guid: z.string(),
  operation: z.string(),
  state: z.literal('COMPLETE'),
  created_at: z.string(),
});

export const jobKey = (guid: string) => ({ [PARTITION_KEY]: JOB_PK, [SORT_KEY]: guid });

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
      new GetCommand({ TableName: this.tableName, Key: this.key(guid), ConsistentRead: true }),
    );
    if (item === undefined) throw new NotFoundError('Job not found', [guid]);
    const parsed = z.safeParse(jobItemSchema, item);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new IntegrityError(this.key(guid), issue?.path.join('.') ?? '', issue?.message ?? 'invalid');
    }
    const job = parsed.data;
    return {
      guid: job.guid,
      operation: job.operation,
      state: job.state,
      createdAt: job.created_at,
      updatedAt: job.created_at,
    };
  }

  private key(guid: string) {
    return jobKey(guid);
  }
}
