// Context → stack props: defaults, parsing of CLI strings, and clear failures.
import { App } from 'aws-cdk-lib';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { describe, expect, it } from 'vitest';
import { CONTEXT_DEFAULTS, configFromContext } from '../../lib/config.js';

const configOf = (context: Record<string, unknown>) => configFromContext(new App({ context }).node);

describe('configFromContext', () => {
  it('uses the documented defaults and flags the placeholder issuer', () => {
    const config = configOf({});
    expect(config).toMatchObject({
      stackName: 'DynamicEgress',
      placeholderIssuer: true,
      props: {
        jwtIssuer: CONTEXT_DEFAULTS.jwtIssuer,
        jwtAudience: ['dynamic-egress'],
        throttlingRateLimit: 50,
        throttlingBurstLimit: 100,
        sourceIds: 'guid',
        logRetention: RetentionDays.ONE_MONTH,
        tableName: undefined,
        alarmTopicArn: undefined,
        cellTagKey: 'egress:cell',
        cellTagValue: 'true',
        resyncSchedule: 'rate(30 minutes)',
        containersPath: '/var/vcap/data/container-metadata/store.json',
        overlayCidr: '10.255.0.0/16',
        unknownSources: 'reject',
        denyLogRate: '1/second',
        nflogGroup: 100,
        connectionLogging: true,
        connectionLogRetention: RetentionDays.THREE_MONTHS,
        fanoutMaxConcurrency: '50%',
        fanoutMaxErrors: '100%',
        republishSchedule: 'rate(5 minutes)',
      },
    });
  });

  it('reads denyNetworks as an object from cdk.json or as JSON text from -c, and refuses a bad one', () => {
    const expected = { always: ['169.254.169.254/32'], running: [], staging: ['10.0.0.0/8'] };
    expect(
      configOf({ denyNetworks: { always: ['169.254.169.254/32'], staging: ['10.0.0.0/8'] } }).props.denyNetworks,
    ).toEqual(expected);
    expect(
      configOf({ denyNetworks: '{"always":["169.254.169.254/32"],"staging":["10.0.0.0/8"]}' }).props.denyNetworks,
    ).toEqual(expected);
    expect(configOf({}).props.denyNetworks).toBeUndefined();
    expect(() => configOf({ denyNetworks: { always: ['10.0.0.0/33'] } })).toThrow(/context denyNetworks: always\[0\]/);
    expect(() => configOf({ denyNetworks: { sometimes: [] } })).toThrow(/context denyNetworks: .*sometimes/);
  });

  it('reads the propagation keys, taking unquoted cdk.json scalars as text', () => {
    const config = configOf({
      cellTagKey: 'platform:cell',
      cellTagValue: true,
      resyncSchedule: 'rate(1 hour)',
      containersPath: '/var/lib/cells/store.json',
      overlayCidr: '10.0.0.0/8',
      unknownSources: 'allow',
      fanoutMaxConcurrency: 20,
      fanoutMaxErrors: '0',
      republishSchedule: 'rate(1 minute)',
    });
    expect(config.props).toMatchObject({
      cellTagKey: 'platform:cell',
      cellTagValue: 'true',
      resyncSchedule: 'rate(1 hour)',
      containersPath: '/var/lib/cells/store.json',
      overlayCidr: '10.0.0.0/8',
      unknownSources: 'allow',
      fanoutMaxConcurrency: '20',
      fanoutMaxErrors: '0',
      republishSchedule: 'rate(1 minute)',
    });
  });

  it('reads values given as strings on the command line (-c key=value)', () => {
    const config = configOf({
      stackName: 'EgressProd',
      jwtIssuer: 'https://uaa.sys.example.com/oauth/token',
      jwtAudience: 'network-policy, cf',
      throttlingRateLimit: '200',
      throttlingBurstLimit: '400',
      logRetentionDays: '90',
      tableName: 'egress-prod',
      alarmTopicArn: 'arn:aws:sns:eu-west-1:111111111111:oncall',
    });
    expect(config).toMatchObject({
      stackName: 'EgressProd',
      placeholderIssuer: false,
      props: {
        jwtIssuer: 'https://uaa.sys.example.com/oauth/token',
        jwtAudience: ['network-policy', 'cf'],
        throttlingRateLimit: 200,
        throttlingBurstLimit: 400,
        logRetention: RetentionDays.THREE_MONTHS,
        tableName: 'egress-prod',
        alarmTopicArn: 'arn:aws:sns:eu-west-1:111111111111:oncall',
      },
    });
  });

  it('reads the logging keys from cdk.json values and from -c strings', () => {
    expect(
      configOf({ denyLogRate: 'off', nflogGroup: 7, connectionLogging: false, connectionLogRetentionDays: 365 }).props,
    ).toMatchObject({
      denyLogRate: 'off',
      nflogGroup: 7,
      connectionLogging: false,
      connectionLogRetention: RetentionDays.ONE_YEAR,
    });
    expect(
      configOf({
        denyLogRate: '30/minute',
        nflogGroup: '7',
        connectionLogging: 'false',
        connectionLogRetentionDays: '30',
      }).props,
    ).toMatchObject({
      denyLogRate: '30/minute',
      nflogGroup: 7,
      connectionLogging: false,
      connectionLogRetention: RetentionDays.ONE_MONTH,
    });
    expect(configOf({ connectionLogging: 'true' }).props.connectionLogging).toBe(true);
  });

  it('fails on a connectionLogging that is not true or false, and on a retention CloudWatch does not offer', () => {
    expect(() => configOf({ connectionLogging: 'no' })).toThrow(
      'context connectionLogging must be true or false, got "no"',
    );
    expect(() => configOf({ connectionLogRetentionDays: 100 })).toThrow(
      /context connectionLogRetentionDays must be one of .*got 100/,
    );
  });

  it('accepts a list of audiences from cdk.json', () => {
    expect(configOf({ jwtAudience: ['a', 'b'] }).props.jwtAudience).toEqual(['a', 'b']);
  });

  it('fails on a non-numeric throttle, showing the value', () => {
    expect(() => configOf({ throttlingRateLimit: 'fast' })).toThrow(/throttlingRateLimit must be a number, got "fast"/);
  });

  it('reads sourceIds, the API setting for non-CF platforms', () => {
    expect(configOf({ sourceIds: 'identifier' }).props.sourceIds).toBe('identifier');
    expect(configOf({ sourceIds: 'guid' }).props.sourceIds).toBe('guid');
  });

  it('fails on a sourceIds value the API does not take, showing it', () => {
    expect(() => configOf({ sourceIds: 'any' })).toThrow('context sourceIds must be guid or identifier, got "any"');
    expect(() => configOf({ sourceIds: 'GUID' })).toThrow('context sourceIds must be guid or identifier, got "GUID"');
  });

  it('fails on an unknownSources value the agent does not take, showing it', () => {
    expect(() => configOf({ unknownSources: 'deny' })).toThrow(
      'context unknownSources must be reject or allow, got "deny"',
    );
    expect(() => configOf({ unknownSources: true })).toThrow('context unknownSources must be a string, got true');
  });

  it('fails on a retention CloudWatch does not offer', () => {
    expect(() => configOf({ logRetentionDays: 31 })).toThrow(/logRetentionDays must be one of .*got 31/);
  });

  it('fails on a non-string issuer', () => {
    expect(() => configOf({ jwtIssuer: 42 })).toThrow(/jwtIssuer must be a string, got 42/);
  });
});
