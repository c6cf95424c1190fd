// Shared by the CDK tests: an App with cdk.json's context (feature flags) so tests synthesize what
// `cdk synth` does, optionally without bundling (templates do not depend on the bundle's bytes) and
// without the built-in template validation (slow; nag.test.ts keeps it on).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { PROJECT_ROOT } from '../../lib/route-function.js';

export const TEST_JWT = {
  jwtIssuer: 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Example',
  jwtAudience: ['example-client-id'],
} as const;

export interface TestAppOptions {
  /** Run esbuild for every function (slow); off writes templates only. */
  readonly bundling?: boolean;
  readonly outdir?: string;
  readonly context?: Record<string, unknown>;
  /** CDK's built-in CloudFormation template validation (cfn-lint in WebAssembly, ~7 s per synth). */
  readonly cfnValidation?: boolean;
  /**
   * Start from cdk.json's context; off starts from `context` alone (e.g. other feature flags).
   * @default true
   */
  readonly cdkJsonContext?: boolean;
}

export function cdkJsonContext(): Record<string, unknown> {
  const cdkJson = JSON.parse(readFileSync(join(PROJECT_ROOT, 'cdk.json'), 'utf8')) as {
    context?: Record<string, unknown>;
  };
  return cdkJson.context ?? {};
}

export function testApp(options: TestAppOptions = {}): App {
  return new App({
    outdir: options.outdir,
    builtinCloudFormationValidation: options.cfnValidation ?? false,
    context: {
      ...(options.cdkJsonContext === false ? {} : cdkJsonContext()),
      ...(options.bundling ? {} : { 'aws:cdk:bundling-stacks': [] }),
      ...options.context,
    },
  });
}
