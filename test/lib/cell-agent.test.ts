// CellAgent and Fanout on their own: the settings that end up in a shell script, in SSM targets and in
// IAM conditions are refused at synth, showing the value, before anything is deployed.

import { Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { describe, expect, it } from 'vitest';
import { CellAgent, type CellAgentProps } from '../../lib/cell-agent.js';
import { LOGROTATE_TIMER, LOGS_SERVICE, ULOGD_SERVICE } from '../../lib/cell-logging-units.js';
import { PROXY_PATH_UNIT } from '../../lib/cell-proxy-script.js';
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

  it('makes unknownSources the default of the UnknownSources parameter the sync command and the units take: reject, allow when asked', () => {
    const parameter = (agent: CellAgent) => documentOf(agent, 'download').parameters?.UnknownSources;
    // Only as strict as the stack or stricter: a command may not open a cell the stack closes.
    expect(parameter(cells())).toMatchObject({ default: 'reject', allowedValues: ['reject'] });
    expect(parameter(cells({ unknownSources: 'reject' }))).toMatchObject({
      default: 'reject',
      allowedValues: ['reject'],
    });
    expect(parameter(cells({ unknownSources: 'allow' }))).toMatchObject({
      default: 'allow',
      allowedValues: ['allow', 'reject'],
    });
    const script = JSON.stringify(Template.fromStack(Stack.of(cells())).toJSON());
    expect(script).toContain(' --unknown-sources \\"$UNKNOWN_SOURCES\\" ');
    expect(script).toContain(' --unknown-sources {{ UnknownSources }} ');
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
    expect(content).toContain('--overlay-cidr 10.0.0.0/8 --unknown-sources {{ UnknownSources }} ');
    expect(content).toContain("'TimeoutStartSec=960'");
    expect(content).toContain('flock -w 90 ');
    // Both the sync step and the watcher's service wait 60 s (half of 120) for the resident agent.
    // 40 polls of 5 ms, then 20 ms ones (cell-resident.ts).
    expect(content.match(/-ge 3030 ]/g)?.length).toBe(2);
    expect(content.match(/-gt 60 ]/g)?.length).toBe(2); // The clock's deadline, in seconds.
    const short = JSON.stringify(
      Template.fromStack(Stack.of(cells({ syncTimeout: Duration.seconds(30) }))).findResources('AWS::SSM::Document'),
    );
    // Half of a 30 s step: the step's own sync still has the other half.
    expect(short.match(/-ge 780 ]/g)?.length).toBe(2);
    expect(short.match(/-gt 15 ]/g)?.length).toBe(2);
    expect(short).not.toContain('-ge 3030 ]');
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

interface DocumentContent {
  parameters?: Record<string, unknown>;
  mainSteps: { name: string; inputs: { runCommand?: unknown } }[];
}

/** The content of the document whose description starts with `kind` ('download' or 'remove'). */
function documentOf(agent: CellAgent, kind: string): DocumentContent {
  const documents = Object.values(Template.fromStack(Stack.of(agent)).findResources('AWS::SSM::Document')).map(
    (resource) =>
      (resource as { Properties: { Content: DocumentContent & { description: string } } }).Properties.Content,
  );
  const document = documents.find((content) => content.description.startsWith(`dynamic-egress: ${kind}`));
  if (!document) throw new Error(`no ${kind} document`);
  return document;
}

const stepNames = (document: DocumentContent) => document.mainSteps.map((step) => step.name);
const stepScript = (document: DocumentContent, name: string) =>
  JSON.stringify(document.mainSteps.find((step) => step.name === name)?.inputs.runCommand ?? null);

describe('CellAgent connection logging', () => {
  it('installs connection logging between the watcher and the sync step, for the group the sync logs to', () => {
    const sync = documentOf(cells({ nflogGroup: 4242 }), 'download');
    expect(stepNames(sync)).toEqual([
      'DownloadAgent',
      'InstallWatcher',
      'InstallNamesRefresh',
      'InstallProxy',
      'InstallConnectionLogging',
      'SyncCell',
    ]);
    const install = stepScript(sync, 'InstallConnectionLogging');
    expect(install).toContain(
      'node /opt/dynamic-egress/agent/current.mjs ulogd-config --json-file /var/log/dynamic-egress/ulogd.json --log-group 4242 ',
    );
    expect(install).toContain(`systemctl enable --now ${ULOGD_SERVICE} ${LOGS_SERVICE}`);
    expect(install).toContain(`systemctl enable --now ${LOGROTATE_TIMER}`);
    expect(install).toContain('--output /var/log/dynamic-egress/egress.log');
    expect(stepScript(sync, 'SyncCell')).toContain("--deny-log-rate '1/second' --log-group 4242 ");
    expect(stepScript(sync, 'InstallWatcher')).toContain('--deny-log-rate 1/second --log-group 4242');
  });

  it('fixes denyLogRate into the sync command and the watcher: 1/second by default, off or another rate when asked', () => {
    const both = (agent: CellAgent) => {
      const sync = documentOf(agent, 'download');
      return [stepScript(sync, 'SyncCell'), stepScript(sync, 'InstallWatcher')];
    };
    const [sync, watcher] = both(cells({ denyLogRate: '30/minute' }));
    expect(sync).toContain("--deny-log-rate '30/minute' --log-group 100 ");
    expect(watcher).toContain('--deny-log-rate 30/minute --log-group 100');
    expect(both(cells({ denyLogRate: 'off' }))[0]).toContain("--deny-log-rate 'off'");
  });

  it('fixes deny networks into the sync command and the watcher in the agent’s quote-free form; none adds no flag', () => {
    const sync = documentOf(
      cells({ denyNetworks: { always: ['169.254.169.254/32', '10.1.2.3/8'], running: [], staging: ['192.0.2.0/24'] } }),
      'download',
    );
    const flag = '--deny-networks always=10.0.0.0/8,169.254.169.254/32+running=+staging=192.0.2.0/24';
    expect(stepScript(sync, 'SyncCell')).toContain(`--log-group 100 ${flag} --verify`);
    expect(stepScript(sync, 'InstallWatcher')).toContain(`--log-group 100 ${flag}`);
    // The host-name refresh keeps the always-deny networks out of its sets too.
    expect(stepScript(sync, 'InstallNamesRefresh')).toContain(`--overlay-cidr 10.255.0.0/16 ${flag}'`);
    const plain = documentOf(cells(), 'download');
    expect(stepScript(plain, 'SyncCell')).not.toContain('--deny-networks');
    expect(stepScript(plain, 'InstallWatcher')).not.toContain('--deny-networks');
    expect(() => cells({ denyNetworks: { always: ["10.0.0.0/8'; reboot #"], running: [], staging: [] } })).toThrow(
      /CellAgent: denyNetworks: always\[0\]: must be an IPv4 CIDR block/,
    );
  });

  it('installs the host-name refresh (agent names --from-sync on the state directory) and removes it on uninstall', () => {
    const install = stepScript(documentOf(cells(), 'download'), 'InstallNamesRefresh');
    expect(install).toContain(
      'exec node /opt/dynamic-egress/agent/current.mjs names --from-sync --state-dir /var/lib/dynamic-egress --overlay-cidr 10.255.0.0/16',
    );
    expect(install).toContain('systemctl enable --now dynamic-egress-names.service');
    expect(stepScript(documentOf(cells(), 'remove'), 'RemoveNamesRefresh')).toContain(
      'systemctl disable --now dynamic-egress-names.service',
    );
  });

  it('adds no document parameter for the logging settings: they are fixed at synth', () => {
    expect(Object.keys(documentOf(cells(), 'download').parameters ?? {})).toEqual([
      'MinVersion',
      'UnknownSources',
      'Verify',
    ]);
  });

  it('creates a log group kept on stack deletion and replacement, 90 days by default', () => {
    const template = Template.fromStack(Stack.of(cells()));
    template.hasResource('AWS::Logs::LogGroup', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: { RetentionInDays: 90, KmsKeyId: Match.absent() },
    });
    Template.fromStack(Stack.of(cells({ connectionLogRetention: RetentionDays.ONE_YEAR }))).hasResourceProperties(
      'AWS::Logs::LogGroup',
      { RetentionInDays: 365 },
    );
  });

  it('lets the cells write to that log group only: create streams, put events, describe streams', () => {
    const agent = cells();
    const template = Template.fromStack(Stack.of(agent));
    const [groupId] = Object.keys(template.findResources('AWS::Logs::LogGroup'));
    const policy = Object.values(template.findResources('AWS::IAM::ManagedPolicy'))[0] as {
      Properties: { PolicyDocument: { Statement: { Sid: string }[] } };
    };
    const statements = policy.Properties.PolicyDocument.Statement;
    expect(statements.find((statement) => statement.Sid === 'WriteConnectionLogs')).toEqual({
      Sid: 'WriteConnectionLogs',
      Effect: 'Allow',
      Action: ['logs:CreateLogStream', 'logs:DescribeLogStreams', 'logs:PutLogEvents'],
      Resource: { 'Fn::GetAtt': [groupId, 'Arn'] },
    });
    // No other statement names a logs action.
    expect(
      statements.filter((statement) => JSON.stringify(statement).includes('logs:')).map((statement) => statement.Sid),
    ).toEqual(['WriteConnectionLogs']);
  });

  it('when off: removes it from the cells on their next sync, and creates no log group nor grant', () => {
    const agent = cells({ connectionLogging: false });
    expect(agent.connectionLogGroup).toBeUndefined();
    const sync = documentOf(agent, 'download');
    expect(stepNames(sync)).toEqual([
      'DownloadAgent',
      'InstallWatcher',
      'InstallNamesRefresh',
      'InstallProxy',
      'RemoveConnectionLogging',
      'SyncCell',
    ]);
    expect(stepScript(sync, 'RemoveConnectionLogging')).toContain(
      `systemctl disable --now ${LOGROTATE_TIMER} ${LOGS_SERVICE} ${ULOGD_SERVICE}`,
    );
    const template = Template.fromStack(Stack.of(agent));
    template.resourceCountIs('AWS::Logs::LogGroup', 0);
    expect(JSON.stringify(template.findResources('AWS::IAM::ManagedPolicy'))).not.toContain('logs:');
  });

  it('the uninstall document removes connection logging first (its forwarder runs current.mjs), then the watcher', () => {
    const uninstall = documentOf(cells(), 'remove');
    expect(stepNames(uninstall)).toEqual([
      'RemoveProxy',
      'RemoveNamesRefresh',
      'RemoveConnectionLogging',
      'RemoveWatcher',
    ]);
    expect(stepScript(uninstall, 'RemoveConnectionLogging')).toContain(
      `rm -f /etc/systemd/system/${ULOGD_SERVICE} /etc/systemd/system/${LOGS_SERVICE}`,
    );
  });

  it('fails on a deny-log rate the agent does not take, showing it', () => {
    for (const denyLogRate of ['1/sec', '101/second', '601/minute', '0/second', 'Off', '', "1/second' ; rm -rf /"]) {
      expect(() => cells({ denyLogRate })).toThrow(
        `CellAgent: denyLogRate must be N/second (N at most 100), N/minute (at most 600) or off, got ${JSON.stringify(denyLogRate)}`,
      );
    }
    expect(() => cells({ denyLogRate: '600/minute' })).not.toThrow();
  });

  it('fails on an NFLOG group outside 1-65535, showing it', () => {
    for (const nflogGroup of [0, 65536, 1.5, -1, Number.NaN]) {
      expect(() => cells({ nflogGroup })).toThrow(
        `CellAgent: nflogGroup must be an integer from 1 to 65535, got ${JSON.stringify(nflogGroup)}`,
      );
    }
    expect(() => cells({ nflogGroup: 65535 })).not.toThrow();
  });

  it('fails on a connectionLogging that is not a boolean, and on an unbounded retention', () => {
    // @ts-expect-error: what a JavaScript caller could pass
    expect(() => cells({ connectionLogging: 'false' })).toThrow(
      'CellAgent: connectionLogging must be true or false, got "false"',
    );
    expect(() => cells({ connectionLogRetention: RetentionDays.INFINITE })).toThrow(
      /connectionLogRetention must be one of CloudWatch's bounded retentions, got 9999/,
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

describe('CellAgent cell proxy', () => {
  it('installs the proxy units before the sync, and every sync passes --proxy-dir where haproxy is installed', () => {
    const agent = cells();
    const sync = documentOf(agent, 'download');
    const install = stepScript(sync, 'InstallProxy');
    expect(install).toContain(`systemctl enable --now ${PROXY_PATH_UNIT}`);
    expect(install).toContain('command -v haproxy');
    // At the end of the sync line (test/lib/propagation.test.ts checks the whole line).
    expect(stepScript(sync, 'SyncCell')).toContain(
      '--verify \\"$VERIFY\\" $(command -v haproxy >/dev/null 2>&1 && echo --proxy-dir /var/lib/dynamic-egress/proxy)',
    );
    // The watcher's sync too (systemd doubles the $).
    expect(stepScript(sync, 'InstallWatcher')).toContain(
      '$$(command -v haproxy >/dev/null 2>&1 && echo --proxy-dir /var/lib/dynamic-egress/proxy)',
    );
  });

  it('when off: removes the units and the redirects on the next sync, and passes no --proxy-dir', () => {
    const sync = documentOf(cells({ layer7Proxy: false }), 'download');
    expect(stepNames(sync)).toContain('RemoveProxy');
    expect(stepNames(sync)).not.toContain('InstallProxy');
    expect(stepScript(sync, 'RemoveProxy')).toContain('iptables -w -t nat -X dyneg-PROXY');
    expect(stepScript(sync, 'SyncCell')).not.toContain('--proxy-dir');
    expect(stepScript(sync, 'InstallWatcher')).not.toContain('--proxy-dir');
  });
});
