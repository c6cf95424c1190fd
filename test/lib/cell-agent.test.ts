// CellAgent and Fanout on their own: the settings that end up in a shell script, in SSM targets and in
// IAM conditions are refused at synth, showing the value, before anything is deployed.
import { Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { CellAgent, type CellAgentProps } from '../../lib/cell-agent.js';
import { Fanout, type FanoutProps } from '../../lib/fanout.js';
import { PolicyStore } from '../../lib/store.js';
import { testApp } from './synth.js';

function cells(props: Partial<CellAgentProps> = {}) {
  const stack = new Stack(testApp(), 'Test');
  const store = new PolicyStore(stack, 'Store');
  return new CellAgent(stack, 'Cells', { table: store.table, ...props });
}

function fanout(props: Partial<FanoutProps> = {}) {
  const stack = new Stack(testApp(), 'Test');
  const store = new PolicyStore(stack, 'Store');
  return new Fanout(stack, 'Fanout', {
    table: store.table,
    documentName: 'sync',
    documentArn: 'arn:aws:ssm:eu-west-1:111111111111:document/sync',
    cellTagKey: 'egress:cell',
    cellTagValue: 'true',
    ...props,
  });
}

describe('CellAgent', () => {
  it('accepts the documented defaults and hourly or cron schedules', () => {
    expect(cells().cellTagKey).toBe('egress:cell');
    expect(() => cells({ resyncSchedule: 'rate(1 hour)' })).not.toThrow();
    expect(() => cells({ resyncSchedule: 'cron(0 */2 * * ? *)' })).not.toThrow();
  });

  it('fails on an overlay CIDR that is not an IPv4 block (as the agent reads it: no leading zeros)', () => {
    for (const overlayCidr of [
      '10.255.0.0',
      '10.256.0.0/16',
      '10.0.0.0/33',
      '10.255.00.0/16',
      "10.0.0.0/8' ; rm -rf /",
    ]) {
      expect(() => cells({ overlayCidr })).toThrow(
        `overlayCidr must be an IPv4 CIDR block such as 10.255.0.0/16, got ${JSON.stringify(overlayCidr)}`,
      );
    }
  });

  it('fixes unknownSources into the sync command: reject by default, allow when asked', () => {
    const script = (agent: CellAgent) => JSON.stringify(Template.fromStack(Stack.of(agent)).toJSON());
    expect(script(cells())).toContain(" --unknown-sources 'reject'");
    expect(script(cells({ unknownSources: 'reject' }))).toContain(" --unknown-sources 'reject'");
    expect(script(cells({ unknownSources: 'allow' }))).toContain(" --unknown-sources 'allow'");
  });

  it("gives the containers-file watcher the sync step's settings: file, overlay, unknown sources, timeout", () => {
    const content = JSON.stringify(
      Template.fromStack(
        Stack.of(
          cells({
            containersPath: '/srv/cell/store.json',
            overlayCidr: '10.0.0.0/8',
            unknownSources: 'allow',
            syncTimeout: Duration.minutes(2),
          }),
        ),
      ).findResources('AWS::SSM::Document'),
    );
    expect(content).toContain("'PathChanged=/srv/cell/store.json'");
    expect(content).toContain('--containers /srv/cell/store.json ');
    expect(content).toContain('--overlay-cidr 10.0.0.0/8 --unknown-sources allow ');
    expect(content).toContain("'TimeoutStartSec=480'");
    expect(content).toContain('flock -w 90 ');
  });

  it('fails on an unknownSources value the agent does not take, showing it (JavaScript callers, bad context)', () => {
    for (const unknownSources of ['deny', 'Reject', '', "allow' ; rm -rf /"]) {
      // @ts-expect-error: what a JavaScript caller could pass
      expect(() => cells({ unknownSources })).toThrow(
        `CellAgent: unknownSources must be reject or allow, got ${JSON.stringify(unknownSources)}`,
      );
    }
  });

  it('fails on a containers path that is relative, climbs, or has characters a shell would read', () => {
    for (const containersPath of ['store.json', '/var/../etc/shadow', '/var/vcap/$(id)/store.json', "/a'b", '/a b']) {
      expect(() => cells({ containersPath })).toThrow(
        `containersPath must be an absolute path of letters, digits and . _ - (no . or .. segments), got ${JSON.stringify(containersPath)}`,
      );
    }
  });

  it('fails on a schedule State Manager refuses or that is not a schedule', () => {
    expect(() => cells({ resyncSchedule: 'rate(5 minutes)' })).toThrow(
      /not run more often than every 30 minutes.*"rate\(5 minutes\)"/,
    );
    expect(() => cells({ resyncSchedule: 'every hour' })).toThrow(
      'resyncSchedule must be rate(N minutes|hours|days) or cron(...), got "every hour"',
    );
  });

  it('fails on a tag key or value outside the tag alphabet, or an aws: key', () => {
    expect(() => cells({ cellTagKey: 'aws:cell' })).toThrow(/cellTagKey .* got "aws:cell"/);
    expect(() => cells({ cellTagKey: 'cell"' })).toThrow(/cellTagKey .* got "cell\\""/);
    expect(() => cells({ cellTagValue: '' })).toThrow(/cellTagValue .* got ""/);
  });

  it('fails on run limits SSM would refuse', () => {
    expect(() => cells({ maxConcurrency: '0' })).toThrow(
      'maxConcurrency must be a count (1-999999) or a percentage (1%-100%), got "0"',
    );
    expect(() => cells({ maxConcurrency: '150%' })).toThrow(/maxConcurrency .* got "150%"/);
    expect(() => cells({ maxErrors: 'ten' })).toThrow(
      'maxErrors must be a count (0-999999) or a percentage (0%-100%), got "ten"',
    );
    expect(() => cells({ maxErrors: '0' })).not.toThrow();
  });

  it('fails on a sync timeout outside 30 s to 1 h', () => {
    expect(() => cells({ syncTimeout: Duration.seconds(5) })).toThrow(
      'syncTimeout must be whole seconds from 30 to 3600, got 5',
    );
  });
});

describe('Fanout', () => {
  it('fails on unbounded or silly retry settings and on a window that breaks the latency promise', () => {
    expect(() => fanout({ retryAttempts: -1 })).toThrow('retryAttempts must be an integer from 0 to 10, got -1');
    expect(() => fanout({ retryAttempts: 10_000 })).toThrow('retryAttempts must be an integer from 0 to 10, got 10000');
    expect(() => fanout({ batchSize: 0 })).toThrow('batchSize must be an integer from 1 to 10000, got 0');
    expect(() => fanout({ maxBatchingWindow: Duration.seconds(30) })).toThrow(
      /maxBatchingWindow above 5 seconds .* got 30 seconds/,
    );
  });
});
