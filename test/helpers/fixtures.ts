import type { DestinationSpec } from '../../lambdas/domain/types.js';

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
