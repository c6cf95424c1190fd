// Powertools for AWS Lambda: one Logger and one Metrics (CloudWatch embedded metric format) per
// function. Their JSON lines are the shape core/log.ts writes in local mode and on cells.
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { Log } from '../../core/log.js';

export const SERVICE_NAME = 'dynamic-egress';
export const METRICS_NAMESPACE = 'DynamicEgress';

export const logger = new Logger({ serviceName: SERVICE_NAME });
export const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: SERVICE_NAME });

/** The Logger seen through the interface the shared code logs with (attributes become top-level keys). */
export const lambdaLog: Log = {
  debug: (message, attributes = {}) => logger.debug(message, { ...attributes }),
  info: (message, attributes = {}) => logger.info(message, { ...attributes }),
  warn: (message, attributes = {}) => logger.warn(message, { ...attributes }),
  error: (message, attributes = {}) => logger.error(message, { ...attributes }),
};

/**
 * Writes the invocation's metrics as one EMF line, at the end of each invocation. An invocation
 * that recorded none writes nothing (Powertools would log a warning instead).
 */
export function publishMetrics(): void {
  if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
}
