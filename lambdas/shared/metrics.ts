// Powertools Metrics: CloudWatch metrics written as embedded-metric-format log lines, one per function.
import { Metrics } from '@aws-lambda-powertools/metrics';
import { METRICS_NAMESPACE, SERVICE_NAME } from './service-names.js';

export const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: SERVICE_NAME });

/**
 * Writes the invocation's metrics as one EMF line, at the end of each invocation. An invocation
 * that recorded none writes nothing (Powertools would log a warning instead).
 */
export function publishMetrics(): void {
  if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
}
