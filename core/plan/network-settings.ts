// The two network settings every plan depends on, apart from the planner so that the API's settings
// (lambdas/api/settings.ts, in every route's bundle) can read them without loading it.

/**
 * The operator's deny networks (IPv4 CIDRs, normalized): `always` for every container, `running`
 * for app and task containers, `staging` for staging ones. Checked before any allow list.
 */
export interface DenyNetworks {
  readonly always: readonly string[];
  readonly running: readonly string[];
  readonly staging: readonly string[];
}
export const NO_DENY_NETWORKS: DenyNetworks = { always: [], running: [], staging: [] };

/** The containers' overlay network: traffic to it is between containers, not egress. */
export const DEFAULT_OVERLAY_CIDR = '10.255.0.0/16';
