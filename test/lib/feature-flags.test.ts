// GIVEN cdk.json's feature flags (every flag `cdk init` writes for this aws-cdk-lib), THEN the stack
// `cdk synth` builds is the one synthesized before they were set: same template, same annotations,
// and every resource of the deployed stacks keeps its logical id and type (no replacement).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { App } from 'aws-cdk-lib';
import { CURRENTLY_RECOMMENDED_FLAGS } from 'aws-cdk-lib/cx-api';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../lib/bundled-function.js';
import { configFromContext } from '../../lib/config.js';
import { DynamicEgressStack } from '../../lib/stack.js';
import { cdkJsonContext, testApp } from './synth.js';

/**
 * cdk.json's context before the recommended flags were set: the flags every deployed stack was
 * synthesized with. Kept to prove the new flags change nothing; do not edit.
 */
const DEPLOYED_CONTEXT = {
  'cli-telemetry': false,
  '@aws-cdk/core:enablePartitionLiterals': true,
  '@aws-cdk/aws-iam:minimizePolicies': true,
  '@aws-cdk/aws-lambda:recognizeLayerVersion': true,
  '@aws-cdk/aws-lambda-nodejs:sdkV3ExcludeSmithyPackages': true,
  '@aws-cdk/core:validateSnapshotRemovalPolicy': true,
  '@aws-cdk/aws-apigateway:disableCloudWatchRole': true,
};

/**
 * Recommended flags that cdk.json sets to another value, each with the reason (a flag that would
 * replace or change a deployed resource is pinned to its old value here). None so far.
 */
const PINNED: Record<string, { value: unknown; reason: string }> = {};

/** The stack as bin/app.ts builds it (without cdk-nag: nag.test.ts), from the given app's context. */
function synthesize(app: App) {
  const config = configFromContext(app.node);
  const stack = new DynamicEgressStack(app, config.stackName, config.props);
  const artifact = app.synth().getStackByName(stack.stackName);
  const template = artifact.template as { Resources: Record<string, { Type: string }> };
  const annotations = artifact.messages.map(({ level, id, entry }) => ({ level, id, data: entry.data }));
  return { template, annotations };
}

describe('feature flags in cdk.json', () => {
  it('sets every flag aws-cdk-lib recommends (what cdk init writes) to its recommended value, or pins it with a reason', () => {
    const context = cdkJsonContext();
    const expected = Object.fromEntries(
      Object.entries(CURRENTLY_RECOMMENDED_FLAGS).map(([flag, value]) => [flag, PINNED[flag]?.value ?? value]),
    );
    const flags = Object.fromEntries(Object.entries(context).filter(([key]) => key in expected));
    expect(flags).toEqual(expected);
  });

  it('keeps every flag the deployed stacks were synthesized with', () => {
    expect(cdkJsonContext()).toMatchObject(DEPLOYED_CONTEXT);
  });

  it('change nothing: the template and annotations are those of the deployed flags', () => {
    const now = synthesize(testApp());
    const before = synthesize(testApp({ cdkJsonContext: false, context: DEPLOYED_CONTEXT }));
    expect(now.template).toEqual(before.template);
    expect(now.annotations).toEqual(before.annotations);
  });
});

describe('deployed resources', () => {
  it('each keeps its logical id and type (a changed id or type replaces the resource)', () => {
    // Recorded from `cdk synth` with cdk.json's context. Resources may be added; to remove or rename
    // one is a deliberate replacement: update the list in the same change and say so.
    const recorded = JSON.parse(readFileSync(join(PROJECT_ROOT, 'test/lib/deployed-resources.json'), 'utf8')) as Record<
      string,
      string
    >;
    const { template } = synthesize(testApp());
    const now = Object.fromEntries(Object.entries(template.Resources).map(([id, resource]) => [id, resource.Type]));
    expect(Object.keys(recorded).length).toBeGreaterThan(50);
    expect(now).toMatchObject(recorded);
  });
});
