// Stack settings from CDK context (cdk.json `context`, or `cdk deploy -c key=value`), validated once,
// with every default in this file. docs/deploy.md lists the keys.
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Node } from 'constructs';
import { isSourceIdFormat, SOURCE_ID_FORMATS, type SourceIdFormat } from '../core/domain/schemas.js';
import { parseDenyNetworks } from '../core/plan/deny-networks.js';
import { type DenyNetworks, isUnknownSources, UNKNOWN_SOURCES, type UnknownSources } from '../core/plan/plan.js';
import { DEFAULT_SOURCE_IDS } from '../lambdas/api/settings.js';
import { CELL_DEFAULTS } from './cell-agent.js';
import { FANOUT_DEFAULTS } from './fanout.js';
import type { DynamicEgressStackProps } from './stack.js';

/** Context keys and their defaults. */
export const CONTEXT_DEFAULTS = {
  stackName: 'DynamicEgress',
  /**
   * Placeholder issuer so `cdk synth` works on a fresh clone. A stack deployed with it rejects every
   * request (no token can come from `.invalid`), and synth warns.
   */
  jwtIssuer: 'https://issuer.invalid',
  jwtAudience: 'dynamic-egress',
  throttlingRateLimit: 50,
  throttlingBurstLimit: 100,
  sourceIds: DEFAULT_SOURCE_IDS,
  logRetentionDays: 30,
  cellTagKey: CELL_DEFAULTS.cellTagKey,
  cellTagValue: CELL_DEFAULTS.cellTagValue,
  resyncSchedule: CELL_DEFAULTS.resyncSchedule,
  containersPath: CELL_DEFAULTS.containersPath,
  overlayCidr: CELL_DEFAULTS.overlayCidr,
  unknownSources: CELL_DEFAULTS.unknownSources,
  denyLogRate: CELL_DEFAULTS.denyLogRate,
  nflogGroup: CELL_DEFAULTS.nflogGroup,
  connectionLogging: CELL_DEFAULTS.connectionLogging,
  connectionLogRetentionDays: CELL_DEFAULTS.connectionLogRetention as number,
  fanoutMaxConcurrency: CELL_DEFAULTS.maxConcurrency,
  fanoutMaxErrors: CELL_DEFAULTS.maxErrors,
  republishSchedule: FANOUT_DEFAULTS.republishSchedule,
} as const;

export interface ControlPlaneConfig {
  readonly stackName: string;
  readonly props: DynamicEgressStackProps;
  /** True when the JWT issuer is the placeholder: the deployed API would accept no token. */
  readonly placeholderIssuer: boolean;
}

export function configFromContext(node: Node): ControlPlaneConfig {
  const text = (key: string): string | undefined => {
    const value: unknown = node.tryGetContext(key);
    if (value === undefined || value === null || value === '') return undefined;
    if (typeof value !== 'string') throw new Error(`context ${key} must be a string, got ${JSON.stringify(value)}`);
    return value;
  };
  /** Like text, but `true` or `0` written unquoted in cdk.json are taken as their text. */
  const scalar = (key: string): string | undefined => {
    const value: unknown = node.tryGetContext(key);
    if (typeof value === 'number' || typeof value === 'boolean') return String(value);
    return text(key);
  };
  const number = (key: string, fallback: number): number => {
    const value: unknown = node.tryGetContext(key);
    if (value === undefined || value === null || value === '') return fallback;
    const parsed = typeof value === 'number' ? value : typeof value === 'string' ? Number(value) : Number.NaN;
    if (!Number.isFinite(parsed)) throw new Error(`context ${key} must be a number, got ${JSON.stringify(value)}`);
    return parsed;
  };
  const list = (key: string, fallback: string): string[] => {
    const value: unknown = node.tryGetContext(key) ?? fallback;
    const items = Array.isArray(value) ? value : typeof value === 'string' ? value.split(',') : [value];
    if (!items.every((item): item is string => typeof item === 'string')) {
      throw new Error(
        `context ${key} must be a string, a comma-separated string or a list of strings, got ${JSON.stringify(value)}`,
      );
    }
    return items.map((item) => item.trim()).filter((item) => item !== '');
  };

  const unknownSources = (key: string, fallback: UnknownSources): UnknownSources => {
    const value = text(key) ?? fallback;
    if (isUnknownSources(value)) return value;
    throw new Error(`context ${key} must be ${UNKNOWN_SOURCES.join(' or ')}, got ${JSON.stringify(value)}`);
  };

  const sourceIds = (key: string, fallback: SourceIdFormat): SourceIdFormat => {
    const value = text(key) ?? fallback;
    if (isSourceIdFormat(value)) return value;
    throw new Error(`context ${key} must be ${SOURCE_ID_FORMATS.join(' or ')}, got ${JSON.stringify(value)}`);
  };

  /** `true`/`false` unquoted in cdk.json, or as text on the command line (-c key=false). */
  const flag = (key: string, fallback: boolean): boolean => {
    const value = scalar(key);
    if (value === undefined) return fallback;
    if (value === 'true' || value === 'false') return value === 'true';
    throw new Error(`context ${key} must be true or false, got ${JSON.stringify(node.tryGetContext(key))}`);
  };

  /**
   * `{"always": [...], "running": [...], "staging": [...]}`: an object in cdk.json, or its JSON text
   * on the command line (-c denyNetworks='{...}'). The agent's parser checks it (CellAgent).
   */
  const denyNetworks = (key: string): DenyNetworks | undefined => {
    const value: unknown = node.tryGetContext(key);
    if (value === undefined || value === null || value === '') return undefined;
    try {
      return parseDenyNetworks(typeof value === 'string' ? value : JSON.stringify(value));
    } catch (error) {
      throw new Error(`context ${key}: ${error instanceof Error ? error.message : String(error)}`);
    }
  };

  const jwtIssuer = text('jwtIssuer') ?? CONTEXT_DEFAULTS.jwtIssuer;
  const deniedNetworks = denyNetworks('denyNetworks');
  const logRetentionDays = number('logRetentionDays', CONTEXT_DEFAULTS.logRetentionDays);
  return {
    stackName: text('stackName') ?? CONTEXT_DEFAULTS.stackName,
    placeholderIssuer: jwtIssuer === CONTEXT_DEFAULTS.jwtIssuer,
    props: {
      jwtIssuer,
      jwtAudience: list('jwtAudience', CONTEXT_DEFAULTS.jwtAudience),
      throttlingRateLimit: number('throttlingRateLimit', CONTEXT_DEFAULTS.throttlingRateLimit),
      throttlingBurstLimit: number('throttlingBurstLimit', CONTEXT_DEFAULTS.throttlingBurstLimit),
      sourceIds: sourceIds('sourceIds', CONTEXT_DEFAULTS.sourceIds),
      logRetention: toRetentionDays('logRetentionDays', logRetentionDays),
      tableName: text('tableName'),
      alarmTopicArn: text('alarmTopicArn'),
      cellTagKey: text('cellTagKey') ?? CONTEXT_DEFAULTS.cellTagKey,
      cellTagValue: scalar('cellTagValue') ?? CONTEXT_DEFAULTS.cellTagValue,
      resyncSchedule: text('resyncSchedule') ?? CONTEXT_DEFAULTS.resyncSchedule,
      containersPath: text('containersPath') ?? CONTEXT_DEFAULTS.containersPath,
      overlayCidr: text('overlayCidr') ?? CONTEXT_DEFAULTS.overlayCidr,
      unknownSources: unknownSources('unknownSources', CONTEXT_DEFAULTS.unknownSources),
      denyLogRate: scalar('denyLogRate') ?? CONTEXT_DEFAULTS.denyLogRate,
      ...(deniedNetworks === undefined ? {} : { denyNetworks: deniedNetworks }),
      nflogGroup: number('nflogGroup', CONTEXT_DEFAULTS.nflogGroup),
      connectionLogging: flag('connectionLogging', CONTEXT_DEFAULTS.connectionLogging),
      connectionLogRetention: toRetentionDays(
        'connectionLogRetentionDays',
        number('connectionLogRetentionDays', CONTEXT_DEFAULTS.connectionLogRetentionDays),
      ),
      fanoutMaxConcurrency: scalar('fanoutMaxConcurrency') ?? CONTEXT_DEFAULTS.fanoutMaxConcurrency,
      fanoutMaxErrors: scalar('fanoutMaxErrors') ?? CONTEXT_DEFAULTS.fanoutMaxErrors,
      republishSchedule: text('republishSchedule') ?? CONTEXT_DEFAULTS.republishSchedule,
      description: 'dynamic-egress control plane: policy API, policy table, alarms, propagation to the cells',
    },
  };
}

function toRetentionDays(key: string, days: number): RetentionDays {
  const allowed = Object.values(RetentionDays).filter((value): value is RetentionDays => typeof value === 'number');
  const match = allowed.find((value) => value === days);
  if (match === undefined || match === RetentionDays.INFINITE) {
    throw new Error(
      `context ${key} must be one of ${allowed.filter((value) => value !== RetentionDays.INFINITE).join(', ')}, got ${days}`,
    );
  }
  return match;
}
