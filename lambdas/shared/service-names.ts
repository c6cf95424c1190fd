// The names the Lambdas log and measure under, as plain data: the handlers write with them (logging.ts,
// metrics.ts) and the stack's dashboard reads the same metrics without loading Powertools.

export const SERVICE_NAME = 'dynamic-egress';

export const METRICS_NAMESPACE = 'DynamicEgress';
