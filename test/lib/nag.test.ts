// GIVEN the stack with cdk-nag's AwsSolutions pack registered as `bin/app.ts` does,
// THEN synth succeeds with no unacknowledged finding, and every acknowledgement gives a reason.
import { type App, Validations } from 'aws-cdk-lib';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROUTES } from '../../lambdas/api/routes.js';
import { DynamicEgressStack } from '../../lib/stack.js';
import { TEST_JWT, testApp } from './synth.js';

let app: App;

beforeAll(() => {
  // With CDK's built-in CloudFormation validation too, as `cdk synth` runs it.
  app = testApp({ cfnValidation: true });
  new DynamicEgressStack(app, 'Test', TEST_JWT);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
});

/** Every acknowledgement in the tree: metadata data is `{ "Annotation::<rule id>": reason }`. */
function acknowledgements(root: IConstruct): { path: string; id: string; reason: string }[] {
  return root.node.findAll().flatMap((construct) =>
    construct.node.metadata
      .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((entry) => Object.entries(entry.data as Record<string, string>))
      .map(([id, reason]) => ({ path: construct.node.path, id: id.replace(/^Annotation::/, ''), reason })),
  );
}

describe('cdk-nag AwsSolutions', () => {
  it('reports no unacknowledged finding, error or warning', () => {
    const report = new AwsSolutionsChecks(app).validateScope(app);
    expect(report.violations.map((violation) => `${violation.ruleName}: ${violation.description}`)).toEqual([]);
    expect(report.success).toBe(true);
  });

  it('lets synth finish: no finding and a template CloudFormation validation accepts', () => {
    expect(() => app.synth()).not.toThrow();
  });

  it('acknowledges L1 (pinned runtime) on each function, with a reason a reviewer can check', () => {
    const acks = acknowledgements(app).filter((ack) => ack.id === 'AwsSolutions-L1');
    expect(acks.length).toBe(ROUTES.length + 1);
    for (const ack of acks) {
      expect(ack.path).toMatch(/\/Function$/);
      expect(ack.reason.length).toBeGreaterThan(60);
    }
  });

  it("acknowledges beyond L1 only the public OpenAPI route's APIG4, the fan-out role's two exact wildcard findings and the on-failure queue's SQS3", () => {
    const others = acknowledgements(app)
      .filter((ack) => ack.id !== 'AwsSolutions-L1')
      .map(({ path, id }) => ({ path, id }));
    expect(others).toEqual([
      { path: 'Test/Api/HttpApi/GET--openapi.json', id: 'AwsSolutions-APIG4' },
      {
        path: 'Test/Fanout/Role',
        id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:<AWS::Region>:<AWS::AccountId>:instance/*]',
      },
      { path: 'Test/Fanout/Role', id: 'AwsSolutions-IAM5[Resource::*]' },
      { path: 'Test/Fanout/OnFailure', id: 'AwsSolutions-SQS3' },
    ]);
    for (const ack of acknowledgements(app)) expect(ack.reason.length).toBeGreaterThan(100);
  });

  it('still flags a wildcard resource added to another role (the fan-out acknowledgement is not global)', () => {
    const other = testApp();
    const stack = new DynamicEgressStack(other, 'Other', TEST_JWT);
    new Role(stack, 'Sloppy', { assumedBy: new ServicePrincipal('lambda.amazonaws.com') }).addToPolicy(
      new PolicyStatement({ actions: ['dynamodb:ListStreams'], resources: ['*'] }),
    );
    const report = new AwsSolutionsChecks(other).validateScope(other);
    expect(report.violations.map((violation) => violation.ruleName)).toEqual(['AwsSolutions-IAM5[Resource::*]']);
  });

  it('fails on a finding nobody acknowledged (the pack is live)', () => {
    const other = testApp();
    const stack = new DynamicEgressStack(other, 'Other', TEST_JWT);
    // GIVEN a role with a wildcard grant added beside the control plane
    new Role(stack, 'Sloppy', { assumedBy: new ServicePrincipal('lambda.amazonaws.com') }).addToPolicy(
      new PolicyStatement({ actions: ['dynamodb:*'], resources: ['*'] }),
    );
    const report = new AwsSolutionsChecks(other).validateScope(other);
    expect(report.success).toBe(false);
    expect(report.violations.map((violation) => violation.ruleName)).toContain('AwsSolutions-IAM5[Action::dynamodb:*]');
  });
});
