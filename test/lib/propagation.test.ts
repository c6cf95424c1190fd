// GIVEN the stack as `cdk synth` builds it (without bundling), THEN the propagation pieces are wired as
// docs/deploy.md describes: stream mapping, the fan-out's exact permissions, the SSM document, the
// resync association, the cells' managed policy, the on-failure queue, alarms and outputs.
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { VERSION_RECORD_FILTER } from '../../lambdas/fanout/stream-filter.js';
import { CELL_AGENT_DIR, CELL_STATE_DIR, liveCellWindowFor } from '../../lib/cell-agent.js';
import { REQUESTS_DIR } from '../../lib/cell-resident.js';
import { DynamicEgressStack } from '../../lib/stack.js';
import { residentStandIn } from './resident-stand-in.js';
import { standInCommands } from './stand-in-commands.js';
import { TEST_JWT, testApp } from './synth.js';

type Resources = Record<string, { Type: string; Properties?: Record<string, unknown> }>;
interface Statement {
  Sid?: string;
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: unknown;
}

let template: Template;
let resources: Resources;

beforeAll(() => {
  const stack = new DynamicEgressStack(testApp(), 'Test', {
    ...TEST_JWT,
    cellTagKey: 'egress:cell',
    cellTagValue: 'true',
    containersPath: '/var/vcap/data/container-metadata/store.json',
  });
  template = Template.fromStack(stack);
  resources = template.toJSON().Resources as Resources;
});

function idOf(type: string, fragment: string): string {
  const ids = Object.entries(resources)
    .filter(([id, resource]) => resource.Type === type && id.includes(fragment))
    .map(([id]) => id);
  expect(ids, `${type} matching ${fragment}`).toHaveLength(1);
  return ids[0] as string;
}
const propsOf = (type: string, fragment: string) => resources[idOf(type, fragment)]?.Properties ?? {};
const tableArn = () => ({ 'Fn::GetAtt': [idOf('AWS::DynamoDB::Table', 'StoreTable'), 'Arn'] });
const queueId = () => idOf('AWS::SQS::Queue', 'FanoutOnFailure');
const documentId = () => idOf('AWS::SSM::Document', 'SyncDocument');
const sorted = (statement: Statement) => ({ ...statement, Action: [statement.Action].flat().sort() });

/** A shell step's lines with CloudFormation joins flattened (`{Ref: X}` shown as `<X>`). */
function scriptLines(stepName = 'SyncCell', document = 'SyncDocument'): string[] {
  const content = propsOf('AWS::SSM::Document', document).Content as {
    mainSteps: { action: string; name: string; inputs: { runCommand?: unknown[] } }[];
  };
  const step = content.mainSteps.find((candidate) => candidate.name === stepName);
  const flatten = (part: unknown): string => {
    if (typeof part === 'string') return part;
    const join = (part as { 'Fn::Join'?: [string, unknown[]] })['Fn::Join'];
    if (join) return join[1].map(flatten).join(join[0]);
    const ref = (part as { Ref?: string }).Ref;
    if (ref) return `<${ref}>`;
    return JSON.stringify(part);
  };
  return (step?.inputs.runCommand ?? []).map(flatten);
}

describe('fan-out event-source mapping', () => {
  it('wakes only for version records, retries whole batches, bisects, retries a bounded number of times', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [idOf('AWS::DynamoDB::Table', 'StoreTable'), 'StreamArn'] },
      FunctionName: { Ref: idOf('AWS::Lambda::Function', 'FanoutFunction') },
      StartingPosition: 'LATEST',
      BatchSize: 100,
      MaximumBatchingWindowInSeconds: Match.absent(),
      FilterCriteria: { Filters: [{ Pattern: JSON.stringify(VERSION_RECORD_FILTER) }] },
      // The handler fails a batch by throwing; it reports no item failures, so the mapping asks for none.
      FunctionResponseTypes: Match.absent(),
      BisectBatchOnFunctionError: true,
      MaximumRetryAttempts: 5,
      MaximumRecordAgeInSeconds: 3600,
      ParallelizationFactor: 1,
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [queueId(), 'Arn'] } } },
    });
  });

  it('sends failures to a queue that is encrypted, TLS-only and keeps messages 14 days', () => {
    expect(propsOf('AWS::SQS::Queue', 'FanoutOnFailure')).toEqual({
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: 14 * 24 * 3600,
    });
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: queueId() }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });
});

describe('fan-out function', () => {
  it('is configured through its environment with the document, the cell tag and the run limits', () => {
    expect(propsOf('AWS::Lambda::Function', 'FanoutFunction')).toMatchObject({
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      LoggingConfig: { LogFormat: 'JSON', LogGroup: { Ref: idOf('AWS::Logs::LogGroup', 'FanoutLogs') } },
      Environment: {
        Variables: {
          TABLE_NAME: { Ref: idOf('AWS::DynamoDB::Table', 'StoreTable') },
          SYNC_DOCUMENT_NAME: { Ref: documentId() },
          CELL_TAG_KEY: 'egress:cell',
          CELL_TAG_VALUE: 'true',
          MAX_CONCURRENCY: '50%',
          MAX_ERRORS: '100%',
          // Two resync intervals (30 minutes by default) and the sync timeout (5 minutes).
          LIVE_CELL_WINDOW_SECONDS: '3600',
          COMMAND_GRACE_SECONDS: '300',
        },
      },
    });
  });

  it('counts a cell as live for two resync intervals, and a day and an hour under a cron schedule', () => {
    expect(liveCellWindowFor('rate(30 minutes)').toMinutes()).toBe(60);
    expect(liveCellWindowFor('rate(1 hour)').toMinutes()).toBe(120);
    expect(liveCellWindowFor('rate(2 days)').toHours()).toBe(96);
    expect(liveCellWindowFor('cron(0 3 * * ? *)').toHours()).toBe(25);
  });

  it('may do exactly this: logs, read the policy partitions, write snapshots, send the document to tagged cells, read the stream', () => {
    const policy = propsOf('AWS::IAM::Policy', 'FanoutRoleDefaultPolicy') as {
      PolicyDocument: { Statement: Statement[] };
      Roles: unknown[];
    };
    expect(policy.Roles).toEqual([{ Ref: idOf('AWS::IAM::Role', 'FanoutRole') }]);
    const partition = { Ref: 'AWS::Partition' };
    const region = { Ref: 'AWS::Region' };
    const account = { Ref: 'AWS::AccountId' };
    expect(policy.PolicyDocument.Statement.map(sorted)).toEqual([
      {
        Effect: 'Allow',
        Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        Resource: { 'Fn::GetAtt': [idOf('AWS::Logs::LogGroup', 'FanoutLogs'), 'Arn'] },
      },
      {
        Sid: 'ReadPolicies',
        Effect: 'Allow',
        Action: ['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:Query'],
        Resource: tableArn(),
        Condition: {
          'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': ['META', 'POLICY', 'DEST', 'SG', 'SNAPSHOT', 'CELL'] },
        },
      },
      {
        Sid: 'WriteSnapshots',
        Effect: 'Allow',
        Action: ['dynamodb:BatchWriteItem', 'dynamodb:DeleteItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
        Resource: tableArn(),
        Condition: { 'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': ['SNAPSHOT'] } },
      },
      { Sid: 'ListSourceShards', Effect: 'Allow', Action: ['dynamodb:Scan'], Resource: tableArn() },
      {
        Sid: 'WriteSourceShards',
        Effect: 'Allow',
        Action: ['dynamodb:BatchWriteItem', 'dynamodb:PutItem'],
        Resource: tableArn(),
        Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['SHARD#*', 'SHARDLOG#*', 'SHARDPOL#*'] } },
      },
      {
        Sid: 'ReadSourceShards',
        Effect: 'Allow',
        Action: ['dynamodb:BatchGetItem'],
        Resource: tableArn(),
        Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['SHARD#*', 'SHARDLOG#*', 'SHARDPOL#*'] } },
      },
      { Sid: 'ReadTableIdentity', Effect: 'Allow', Action: ['dynamodb:DescribeTable'], Resource: tableArn() },
      {
        Sid: 'SendSyncDocument',
        Effect: 'Allow',
        Action: ['ssm:SendCommand'],
        Resource: {
          'Fn::Join': ['', ['arn:', partition, ':ssm:', region, ':', account, ':document/', { Ref: documentId() }]],
        },
      },
      {
        Sid: 'SendToCells',
        Effect: 'Allow',
        Action: ['ssm:SendCommand'],
        Resource: { 'Fn::Join': ['', ['arn:', partition, ':ec2:', region, ':', account, ':instance/*']] },
        Condition: { StringEquals: { 'ssm:resourceTag/egress:cell': 'true' } },
      },
      {
        Effect: 'Allow',
        Action: ['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage'],
        Resource: { 'Fn::GetAtt': [queueId(), 'Arn'] },
      },
      // ListStreams has no resource-level permissions (acknowledged in cdk-nag with that reason).
      { Effect: 'Allow', Action: ['dynamodb:ListStreams'], Resource: '*' },
      {
        Effect: 'Allow',
        Action: ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator'],
        Resource: { 'Fn::GetAtt': [idOf('AWS::DynamoDB::Table', 'StoreTable'), 'StreamArn'] },
      },
    ]);
  });
});

describe('sync document', () => {
  it('is a schema 2.2 Command document for EC2 instances whose parameters are a digits-only MinVersion, Verify and UnknownSources', () => {
    const props = propsOf('AWS::SSM::Document', 'SyncDocument') as {
      Content: { schemaVersion: string; parameters: Record<string, unknown>; mainSteps: { action: string }[] };
    };
    expect(props).toMatchObject({ DocumentType: 'Command', TargetType: '/AWS::EC2::Instance' });
    expect(props.Content.schemaVersion).toBe('2.2');
    expect(props.Content.parameters).toEqual({
      MinVersion: { type: 'String', description: expect.any(String), default: '0', allowedPattern: '^[0-9]{1,15}$' },
      Verify: { type: 'String', description: expect.any(String), default: 'cheap', allowedPattern: '^(cheap|full)$' },
      UnknownSources: {
        type: 'String',
        description: expect.any(String),
        default: 'reject',
        allowedValues: ['reject'],
      },
    });
    expect(props.Content.mainSteps.map((step) => step.action)).toEqual([
      'aws:downloadContent',
      'aws:runShellScript',
      'aws:runShellScript',
      'aws:runShellScript',
      'aws:runShellScript',
      'aws:runShellScript',
    ]);
  });

  it('installs the containers-file watcher and the boot unit before it syncs: current.mjs, the units, reload, enable', () => {
    const content = propsOf('AWS::SSM::Document', 'SyncDocument').Content as { mainSteps: { name: string }[] };
    expect(content.mainSteps.map((step) => step.name)).toEqual([
      'DownloadAgent',
      'InstallWatcher',
      'InstallNamesRefresh',
      'InstallProxy',
      'InstallConnectionLogging',
      'SyncCell',
    ]);
    const lines = scriptLines('InstallWatcher');
    const table = idOf('AWS::DynamoDB::Table', 'StoreTable');
    const agentName = /'[^']+\/([^'/]+)' sync /.exec(scriptLines().at(-1) ?? '')?.[1];
    expect(lines).toContain(`ln -sfn '${agentName}' ${CELL_AGENT_DIR}/current.mjs.tmp`);
    expect(lines).toContain(`mv -Tf ${CELL_AGENT_DIR}/current.mjs.tmp ${CELL_AGENT_DIR}/current.mjs`);
    expect(lines.find((line) => line.startsWith('if [ ! -d /run/systemd/system ]; then'))).toMatch(/>&2; exit 0; fi$/);
    const service = lines.find((line) => line.includes('> /etc/systemd/system/dynamic-egress-sync.service.tmp')) ?? '';
    expect(service).toContain("'Type=oneshot'");
    expect(service).toContain("'Environment=AWS_REGION=<AWS::Region>'");
    expect(service).toContain(`node ${CELL_AGENT_DIR}/current.mjs sync --from-dynamodb --table <${table}> `);
    expect(service).toContain('--min-version 0');
    expect(service).toContain(
      '--overlay-cidr 10.255.0.0/16 --unknown-sources {{ UnknownSources }} --deny-log-rate 1/second --log-group 100 ',
    );
    const path = lines.find((line) => line.includes('> /etc/systemd/system/dynamic-egress-sync.path.tmp')) ?? '';
    expect(path).toContain("'PathChanged=/var/vcap/data/container-metadata/store.json'");
    const boot = lines.find((line) => line.includes('> /etc/systemd/system/dynamic-egress-boot.service.tmp')) ?? '';
    expect(boot).toContain("'Before=network-pre.target shutdown.target'");
    expect(boot).toContain(
      `node ${CELL_AGENT_DIR}/current.mjs sync --from-cache --containers /var/vcap/data/container-metadata/store.json --state-dir /var/lib/dynamic-egress --overlay-cidr 10.255.0.0/16 --unknown-sources {{ UnknownSources }} --deny-log-rate 1/second --log-group 100'`,
    );
    const agent = lines.find((line) => line.includes('> /etc/systemd/system/dynamic-egress-agent.service.tmp')) ?? '';
    expect(agent).toContain("'RuntimeDirectory=dynamic-egress'");
    expect(agent).toContain(`node ${CELL_AGENT_DIR}/current.mjs serve --table <${table}> `);
    // The boot unit before the IMDS lookup, which an IMDS failure would otherwise leave it behind.
    const bootEnabled = lines.indexOf('systemctl enable dynamic-egress-boot.service || FAILED=1');
    expect(bootEnabled).toBeGreaterThan(-1);
    expect(bootEnabled).toBeLessThan(lines.findIndex((line) => line.includes('latest/api/token')));
    expect(lines.slice(-11, -1)).toEqual([
      `APPLY=0; APPLY_FAILED=0; if [ -e ${CELL_AGENT_DIR}/units-pending ]; then APPLY=1; fi`,
      'if [ "$APPLY" = 1 ]; then systemctl daemon-reload || APPLY_FAILED=1; fi',
      'systemctl reset-failed dynamic-egress-sync.path dynamic-egress-sync.service >/dev/null 2>&1 || true',
      'systemctl enable --now dynamic-egress-sync.path || FAILED=1',
      'if [ "$APPLY" = 1 ]; then systemctl restart dynamic-egress-sync.path || APPLY_FAILED=1; fi',
      'systemctl reset-failed dynamic-egress-agent.service >/dev/null 2>&1 || true',
      'systemctl enable dynamic-egress-agent.service || FAILED=1',
      'if [ "$APPLY" = 1 ]; then systemctl restart dynamic-egress-agent.service || APPLY_FAILED=1; else systemctl start dynamic-egress-agent.service || FAILED=1; fi',
      `if [ "$APPLY" = 1 ] && [ "$APPLY_FAILED" = 0 ]; then rm -f ${CELL_AGENT_DIR}/units-pending; fi`,
      'if [ "$APPLY_FAILED" = 1 ]; then echo \'dynamic-egress: systemctl could not apply the new build or units: the next run of the document tries again\' >&2; fi',
    ]);
  });

  it('downloads the agent object from the assets bucket into the agent folder', () => {
    template.hasResourceProperties('AWS::SSM::Document', {
      Content: {
        mainSteps: Match.arrayWith([
          Match.objectLike({
            action: 'aws:downloadContent',
            inputs: { sourceType: 'S3', sourceInfo: Match.anyValue(), destinationPath: `${CELL_AGENT_DIR}/` },
          }),
        ]),
      },
    });
  });

  it('hands the sync to the resident agent first: its answer ends the step; when none answers, runs the agent itself', () => {
    const lines = scriptLines();
    const first = lines.findIndex((line) => line.startsWith('resident_sync() {'));
    expect(first).toBeGreaterThan(0);
    const dir = mkdtempSync(join(tmpdir(), 'sync-step-'));
    try {
      const requests = join(dir, 'requests');
      const tail = ['set -eu', ...lines.slice(first)].join('\n').replaceAll(REQUESTS_DIR, requests);
      const path = standInCommands(dir, { flock: `echo "flock $*" >> ${dir}/flock.log` });
      const step = () => {
        const result = spawnSync('/bin/sh', ['-c', tail], {
          env: {
            PATH: `${path}:/usr/bin:/bin`,
            MIN_VERSION: '7',
            VERIFY: 'full',
            UNKNOWN_SOURCES: 'reject',
            INSTANCE_ID: 'i-0123456789abcdef0',
          },
          encoding: 'utf8',
          timeout: 30_000,
        });
        const log = join(dir, 'flock.log');
        const ran = existsSync(log) ? readFileSync(log, 'utf8') : '';
        rmSync(log, { force: true });
        return { status: result.status, stdout: result.stdout, ranItself: ran !== '' };
      };
      // No resident agent (no folder): the agent itself, under the lock.
      expect(step()).toMatchObject({ status: 0, ranItself: true });
      for (const code of [0, 3]) {
        const resident = residentStandIn(requests, code);
        try {
          expect(step()).toEqual({ status: code, stdout: 'synced\n', ranItself: false });
          expect(resident.asked()).toEqual(['7 full reject']);
        } finally {
          resident.stop();
          rmSync(requests, { recursive: true, force: true });
          rmSync(join(dir, 'resident.log'), { force: true });
        }
      }
      // An agent older than the document refuses the request's third word (exit 2): the step syncs itself.
      const older = residentStandIn(requests, 2);
      try {
        expect(step()).toMatchObject({ status: 0, ranItself: true });
      } finally {
        older.stop();
        rmSync(requests, { recursive: true, force: true });
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('runs the agent from DynamoDB with the table, the region and the instance id, under a timeout and a lock', () => {
    const lines = scriptLines();
    const table = idOf('AWS::DynamoDB::Table', 'StoreTable');
    const run = lines.at(-1) ?? '';
    expect(run).toMatch(
      new RegExp(`^exec flock -w \\d+ -E 3 ${CELL_STATE_DIR}/sync.lock node '${CELL_AGENT_DIR}/[^']+' sync `),
    );
    expect(run).toContain('--from-dynamodb');
    expect(run).toContain(`--table '<${table}>'`);
    expect(run).toContain("--containers '/var/vcap/data/container-metadata/store.json'");
    expect(run).toContain(`--state-dir ${CELL_STATE_DIR}`);
    expect(run).toContain('--cell-name "$INSTANCE_ID"');
    expect(run).toContain('--min-version "$MIN_VERSION"');
    expect(run).toContain("--overlay-cidr '10.255.0.0/16'");
    // Fail closed by default: overlay sources the containers file does not list are refused.
    expect(run).toMatch(
      / --unknown-sources "\$UNKNOWN_SOURCES" --deny-log-rate '1\/second' --log-group 100 --verify "\$VERIFY" \$\(command -v haproxy >\/dev\/null 2>&1 && echo --proxy-dir \/var\/lib\/dynamic-egress\/proxy\)$/,
    );
    expect(lines).toContain("export AWS_REGION='<AWS::Region>'");
    expect(lines.some((line) => line.includes('latest/api/token'))).toBe(true);
    // Older agent builds are removed: never the one about to run, the one the units run, nor one
    // written in the last hour (another document run's). Run on a folder of builds:
    const agentName = /'[^']+\/([^'/]+)' sync /.exec(run)?.[1] ?? '';
    const clean = lines.find((line) => line.startsWith(`find ${CELL_AGENT_DIR} `)) ?? '';
    const builds = mkdtempSync(join(tmpdir(), 'agent-builds-'));
    try {
      const hoursAgo = new Date(Date.now() - 2 * 3600_000);
      for (const name of [agentName, 'units-run.mjs', 'old.mjs', 'other-run.mjs'])
        writeFileSync(join(builds, name), '');
      for (const name of [agentName, 'units-run.mjs', 'old.mjs']) utimesSync(join(builds, name), hoursAgo, hoursAgo);
      symlinkSync('units-run.mjs', join(builds, 'current.mjs'));
      const ran = spawnSync('/bin/sh', ['-c', clean.replaceAll(CELL_AGENT_DIR, builds)], { encoding: 'utf8' });
      expect(ran.status).toBe(0);
      expect(readdirSync(builds).sort()).toEqual([agentName, 'current.mjs', 'other-run.mjs', 'units-run.mjs'].sort());
    } finally {
      rmSync(builds, { recursive: true, force: true });
    }
    // The parameter appears once, in single quotes, and is checked again before use.
    expect(lines.join('\n').match(/\{\{ *MinVersion *\}\}/g)).toEqual(['{{ MinVersion }}']);
    expect(lines).toContain("MIN_VERSION='{{ MinVersion }}'");
    expect(lines.join('\n').match(/\{\{ *Verify *\}\}/g)).toEqual(['{{ Verify }}']);
    expect(lines).toContain("VERIFY='{{ Verify }}'");
    expect(lines.some((line) => line.includes(`grep -Eq '^(cheap|full)$'`))).toBe(true);
    template.hasResourceProperties('AWS::SSM::Document', {
      Content: {
        mainSteps: Match.arrayWith([
          Match.objectLike({ action: 'aws:runShellScript', inputs: Match.objectLike({ timeoutSeconds: '300' }) }),
        ]),
      },
    });
  });
});

describe('unknown sources', () => {
  it('makes the stack prop the default of the document parameter, which SSM checks (reject or allow)', () => {
    const stack = new DynamicEgressStack(testApp(), 'Rollout', { ...TEST_JWT, unknownSources: 'allow' });
    const sync = Object.values(Template.fromStack(stack).findResources('AWS::SSM::Document')).find((resource) =>
      JSON.stringify(resource).includes('SyncCell'),
    );
    expect(JSON.stringify(sync)).toContain('"UnknownSources":{"type":"String","description":');
    expect(sync?.Properties?.Content?.parameters?.UnknownSources).toMatchObject({
      default: 'allow',
      allowedValues: ['allow', 'reject'],
    });
  });

  it('checks the value again in the sync step before it reaches the agent', () => {
    const lines = scriptLines('SyncCell');
    const check = lines.find((line) => line.includes('UnknownSources must be reject or allow')) ?? '';
    expect(check).toMatch(/^UNKNOWN_SOURCES='\{\{ UnknownSources \}\}'; /);
    // The install step checks it too, before it writes the units that hold it, and before the trap
    // that turns its other failures into exit 0: a bad value fails that step with 2.
    const install = scriptLines('InstallWatcher');
    expect(install).toContain(check);
    const head = install.slice(0, install.indexOf(check) + 1).join('\n');
    const bad = `${head.replace("'{{ UnknownSources }}'", "'allowx'")}\nexit 0`;
    expect(spawnSync('/bin/sh', ['-c', bad]).status).toBe(2);
    for (const [value, status] of [
      ['reject', 0],
      ['allow', 0],
      ['allowx', 2],
      ["reject'; touch /tmp/x; '", 2],
    ] as const) {
      const script = `${check.replace("'{{ UnknownSources }}'", `'${value.replaceAll("'", "'\\''")}'`)}\nexit 0`;
      expect(spawnSync('/bin/sh', ['-c', script]).status).toBe(status);
    }
  });
});

describe('uninstall document', () => {
  it('stops and removes the watcher units, reloads systemd, and removes the rules only when asked', () => {
    const props = propsOf('AWS::SSM::Document', 'UninstallDocument') as { Content: { parameters?: unknown } };
    expect(props).toMatchObject({ DocumentType: 'Command', TargetType: '/AWS::EC2::Instance' });
    expect(props.Content.parameters).toEqual({
      RemoveRules: expect.objectContaining({ type: 'String', allowedValues: ['false', 'true'], default: 'false' }),
    });
    const lines = scriptLines('RemoveWatcher', 'UninstallDocument');
    expect(lines).toContain('systemctl disable --now dynamic-egress-sync.path >/dev/null 2>&1 || true');
    expect(lines).toContain('systemctl disable dynamic-egress-boot.service >/dev/null 2>&1 || true');
    expect(lines).toContain('systemctl disable --now dynamic-egress-agent.service >/dev/null 2>&1 || true');
    expect(lines).toContain(
      'rm -f /etc/systemd/system/dynamic-egress-sync.path /etc/systemd/system/dynamic-egress-sync.service /etc/systemd/system/dynamic-egress-boot.service /etc/systemd/system/dynamic-egress-agent.service',
    );
    expect(lines).toContain('systemctl daemon-reload');
    expect(lines.join('\n')).not.toMatch(/iptables|ipset/);
    expect(lines).toContain("if [ '{{RemoveRules}}' = true ]; then");
    expect(lines.join('\n')).toContain('node /opt/dynamic-egress/agent/current.mjs uninstall');
  });
});

describe('resync association', () => {
  it('re-runs a full sync (every rule and set member read back) on every tagged cell on the schedule, with the run limits', () => {
    expect(propsOf('AWS::SSM::Association', 'Resync')).toMatchObject({
      Name: { Ref: documentId() },
      ScheduleExpression: 'rate(30 minutes)',
      Targets: [{ Key: 'tag:egress:cell', Values: ['true'] }],
      Parameters: { MinVersion: ['0'], Verify: ['full'] },
      MaxConcurrency: '50%',
      MaxErrors: '100%',
    });
  });
});

describe('cell policy', () => {
  it('lets a cell read snapshots, write only its report attributes, and download exactly the agent', () => {
    const policy = propsOf('AWS::IAM::ManagedPolicy', 'CellPolicy') as { PolicyDocument: { Statement: Statement[] } };
    const statements = policy.PolicyDocument.Statement.map(sorted);
    expect(statements.map((statement) => [statement.Sid, statement.Action])).toEqual([
      ['ReadSnapshots', ['dynamodb:GetItem', 'dynamodb:Query']],
      ['WriteCellReport', ['dynamodb:UpdateItem']],
      ['DownloadAgent', ['s3:GetObject']],
      ['DownloadAgentProbe', ['s3:ListBucket']],
      ['WriteConnectionLogs', ['logs:CreateLogStream', 'logs:DescribeLogStreams', 'logs:PutLogEvents']],
      ['ReadSourceShards', ['dynamodb:BatchGetItem']],
    ]);
    expect(statements[5]).toMatchObject({
      Resource: tableArn(),
      Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['SHARD#*', 'SHARDLOG#*'] } },
    });
    expect(statements[0]).toMatchObject({
      Resource: tableArn(),
      Condition: { 'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': ['SNAPSHOT'] } },
    });
    expect(statements[1]).toMatchObject({
      Resource: tableArn(),
      Condition: {
        'ForAllValues:StringEquals': {
          'dynamodb:LeadingKeys': ['CELL'],
          'dynamodb:Attributes': [
            'pk',
            'sk',
            'applied_version',
            'applied_at',
            'synced_at',
            'containers',
            'rules',
            'sources',
          ],
        },
      },
    });
    // One object of the assets bucket: `<bucket>/<key>`, no wildcard.
    const object = JSON.stringify(statements[2]?.Resource);
    expect(object).toMatch(/cdk-[a-z0-9]+-assets-\$\{AWS::AccountId\}-\$\{AWS::Region\}/);
    expect(object).toMatch(/"\/[0-9a-f]{64}\.[a-z]+"/);
    expect(object).not.toContain('*');
    // The listing downloadContent makes first is limited to `<key>/`, under which nothing exists.
    expect(statements[3]?.Condition).toEqual({
      StringEquals: { 's3:prefix': [expect.stringMatching(/^[0-9a-f]{64}\.[a-z]+\/$/)] },
    });
  });
});

describe('alarms and outputs', () => {
  const alarms = () =>
    Object.values(resources)
      .filter((resource) => resource.Type === 'AWS::CloudWatch::Alarm')
      .map((resource) => resource.Properties ?? {});

  it('watch fan-out errors, throttles and iterator age, and the on-failure queue depth', () => {
    const fanoutFn = { Ref: idOf('AWS::Lambda::Function', 'FanoutFunction') };
    const onFanout = alarms().filter(
      (alarm) => JSON.stringify(alarm.Dimensions) === JSON.stringify([{ Name: 'FunctionName', Value: fanoutFn }]),
    );
    expect(onFanout.map((alarm) => alarm.MetricName).sort()).toEqual(['Errors', 'IteratorAge', 'Throttles']);
    expect(onFanout.find((alarm) => alarm.MetricName === 'IteratorAge')).toMatchObject({
      Threshold: 60_000,
      Statistic: 'Maximum',
    });
    expect(alarms().find((alarm) => alarm.MetricName === 'ApproximateNumberOfMessagesVisible')).toMatchObject({
      Namespace: 'AWS/SQS',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [queueId(), 'QueueName'] } }],
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
  });

  it('give the document names, the cell policy ARN and the on-failure queue URL', () => {
    template.hasOutput('SyncDocumentName', { Value: { Ref: documentId() } });
    template.hasOutput('UninstallDocumentName', { Value: { Ref: idOf('AWS::SSM::Document', 'UninstallDocument') } });
    template.hasOutput('CellPolicyArn', { Value: { Ref: idOf('AWS::IAM::ManagedPolicy', 'CellPolicy') } });
    template.hasOutput('FanoutOnFailureQueueUrl', { Value: { Ref: queueId() } });
  });
});
