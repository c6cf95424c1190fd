/** The `service` of local mode's log lines (core/log.ts); the Lambdas log as `dynamic-egress`. */
export const LOCAL_SERVICE = 'dynamic-egress-local';
