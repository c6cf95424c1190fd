// Powertools Logger, one per function. Its JSON lines are the shape core/log.ts writes in local mode
// and on cells. Metrics live apart (metrics.ts), so the API routes, which record none, do not carry them.
import { Logger } from '@aws-lambda-powertools/logger';
import type { Log } from '../../core/log.js';
import { SERVICE_NAME } from './service-names.js';

export const logger = new Logger({ serviceName: SERVICE_NAME });

/** The Logger seen through the interface the shared code logs with (attributes become top-level keys). */
export const lambdaLog: Log = {
  debug: (message, attributes = {}) => logger.debug(message, { ...attributes }),
  info: (message, attributes = {}) => logger.info(message, { ...attributes }),
  warn: (message, attributes = {}) => logger.warn(message, { ...attributes }),
  error: (message, attributes = {}) => logger.error(message, { ...attributes }),
};
