// What the fan-out publishes from a test's table: its egress policies (the store the test made) and
// its security groups.
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { PolicyStore } from '../../core/domain/store.js';
import { DynamoDbSecurityGroupStore } from '../../core/store/security-group-store.js';
import { type PolicySource, publishedStateOf } from '../../lambdas/fanout/snapshot-publisher.js';

export function publishedState(
  policies: Pick<PolicyStore, 'currentVersion' | 'listEgressPolicies' | 'listDestinations'>,
  client: DynamoDBDocumentClient,
  tableName: string,
): PolicySource {
  return publishedStateOf({ policies, securityGroups: new DynamoDbSecurityGroupStore({ client, tableName }) });
}
