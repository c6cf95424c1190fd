// Finished jobs in the policy table: `pk=JOB, sk=<guid>` `{guid, operation, state, created_at}`.
// One small item per security group delete; never changed after it is written.
import { randomUUID } from 'node:crypto';
import { type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
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

export class DynamoDbJobStore implements JobStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async recordCompleted(operation: string): Promise<Job> {
    const guid = randomUUID();
    const createdAt = new Date().toISOString();
    await this.client.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { ...this.key(guid), guid, operation, state: 'COMPLETE', created_at: createdAt },
        // A random UUID never collides; the condition makes sure no job is ever overwritten.
        ConditionExpression: `attribute_not_exists(${PARTITION_KEY})`,
      }),
    );
    return { guid, operation, state: 'COMPLETE', createdAt, updatedAt: createdAt };
  }

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
    return { [PARTITION_KEY]: JOB_PK, [SORT_KEY]: guid };
  }
}
