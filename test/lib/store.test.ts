// PolicyStore on its own: safe defaults, and what a throwaway (test) stack may override.
import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { PolicyStore } from '../../lib/store.js';
import { testApp } from './synth.js';

function template(props: ConstructorParameters<typeof PolicyStore>[2] = {}) {
  const stack = new Stack(testApp(), 'Test');
  const store = new PolicyStore(stack, 'Store', props);
  return { store, template: Template.fromStack(stack) };
}

describe('PolicyStore', () => {
  it('retains the table and protects it from deletion by default', () => {
    const { template: t } = template();
    t.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      Properties: { DeletionProtectionEnabled: true, TableName: Match.absent() },
    });
  });

  it('exposes the stream ARN for the fan-out', () => {
    const { store, template: t } = template();
    const [tableId] = Object.keys(t.findResources('AWS::DynamoDB::Table'));
    expect(Stack.of(store).resolve(store.tableStreamArn)).toEqual({ 'Fn::GetAtt': [tableId, 'StreamArn'] });
  });

  it('lets a throwaway stack name, destroy and unprotect the table', () => {
    const { template: t } = template({
      tableName: 'egress-test',
      removalPolicy: RemovalPolicy.DESTROY,
      deletionProtection: false,
    });
    t.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Delete',
      Properties: { TableName: 'egress-test', DeletionProtectionEnabled: false },
    });
  });
});
