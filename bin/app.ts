// `cdk synth` / `cdk deploy` entry: only wiring. Settings come from CDK context (lib/config.ts).
import { Annotations, App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { configFromContext } from '../lib/config.js';
import { DynamicEgressStack } from '../lib/stack.js';

const app = new App();
const config = configFromContext(app.node);
const stack = new DynamicEgressStack(app, config.stackName, config.props);
if (config.placeholderIssuer) {
  Annotations.of(stack).addWarningV2(
    'dynamic-egress:placeholderJwtIssuer',
    'jwtIssuer is not set: the API will reject every token. Pass -c jwtIssuer=https://... -c jwtAudience=... (docs/deploy.md).',
  );
}
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
