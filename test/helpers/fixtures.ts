import type { ScheduledEvent } from 'aws-lambda';
import { NO_BINDINGS, type SecurityGroupInput } from '../../core/domain/security-group.js';
import type { DestinationSpec } from '../../core/domain/types.js';

/** A tcp destination; override what the test cares about. */
export function tcpDestination(name: string, overrides: Partial<DestinationSpec> = {}): DestinationSpec {
  return {
    name,
    ips: [{ start: '198.51.100.10', end: '198.51.100.10' }],
    ports: [{ start: 443, end: 443 }],
    protocol: 'tcp',
    ...overrides,
  };
}

/** A group allowing https to one address; override what the test cares about. */
export function groupInput(name: string, overrides: Partial<SecurityGroupInput> = {}): SecurityGroupInput {
  return {
    name,
    globallyEnabled: { running: false, staging: false },
    rules: [{ protocol: 'tcp', destination: '198.51.100.10', ports: '443' }],
    bindings: NO_BINDINGS,
    ...overrides,
  };
}

/** What EventBridge sends for a `rate(...)` rule with the default input. */
export const SCHEDULED_EVENT: ScheduledEvent = {
  version: '0',
  id: '53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa',
  'detail-type': 'Scheduled Event',
  source: 'aws.events',
  account: '123456789012',
  time: '2026-01-01T12:00:00Z',
  region: 'eu-west-1',
  resources: ['arn:aws:events:eu-west-1:123456789012:rule/Republish'],
  detail: {},
};
