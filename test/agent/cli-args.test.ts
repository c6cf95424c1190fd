// The agent's one argument parser: each command's options and defaults, and every usage mistake.
import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import { parseAgentArgs, USAGE } from '../../agent/cli-args.js';
import { UsageError } from '../../agent/errors.js';
import { DEFAULT_NAME_POLICY } from '../../agent/names/name-state.js';

const TABLE_SYNC = ['sync', '--from-dynamodb', '--table', 'egress', '--containers', 'c.json', '--state-dir', '/s'];

function usageError(argv: readonly string[]): string {
  try {
    parseAgentArgs(argv);
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return error instanceof Error ? error.message : String(error);
  }
  throw new Error(`parsed without error: ${JSON.stringify(argv)}`);
}

describe('agent command line', () => {
  it('prints one usage line per command', () => {
    expect(USAGE).toBe(
      'usage: agent sync --policies FILE|- --containers FILE [--overlay-cidr CIDR] [--unknown-sources reject|allow] [--verify cheap|full] [--deny-log-rate N/second|N/minute|off] [--log-group N] [--deny-networks JSON] [--netns NS] [--names-file FILE] [--dry-run]\n' +
        '       agent sync --from-dynamodb --table NAME --containers FILE --state-dir DIR [--cell-name NAME] [--overlay-cidr CIDR] [--unknown-sources reject|allow] [--deny-log-rate N/second|N/minute|off] [--log-group N] [--deny-networks JSON] [--proxy-dir DIR [--proxy-nameservers IP[,IP…]] [--proxy-start]] [--netns NS] [--min-version N] [--verify cheap|full] [--dry-run | --render-only]\n' +
        '       agent serve --table NAME --containers FILE --state-dir DIR [--cell-name NAME] [--overlay-cidr CIDR] [--unknown-sources reject|allow] [--deny-log-rate N/second|N/minute|off] [--log-group N] [--deny-networks JSON] [--proxy-dir DIR [--proxy-nameservers IP[,IP…]] [--proxy-start]] [--netns NS] [--requests DIR] [--lock-wait S] [--sync-timeout S]\n' +
        '       agent sync --from-cache --containers FILE --state-dir DIR [--overlay-cidr CIDR] [--unknown-sources reject|allow] [--deny-log-rate N/second|N/minute|off] [--log-group N] [--deny-networks JSON] [--netns NS] [--dry-run]\n' +
        '       agent uninstall [--netns NS] [--dry-run]\n' +
        '       agent logs --containers FILE --input FILE [--output FILE] [--from-start] [--position-file FILE] [--proxy-port N|off]\n' +
        '       agent ulogd-config --json-file FILE [--log-group N] [--plugin-dir DIR] [--logfile FILE|syslog]\n' +
        '       agent names (--names FILE | --from-sync) --state-dir DIR [--once] [--nameservers IP[,IP…]] [--overlay-cidr CIDR] [--deny-networks JSON] [--ttl-floor S] [--grace S] [--max-addresses N] [--min-refresh S] [--max-refresh S]',
    );
  });

  it.each([
    [[], 'missing command'],
    [['apply'], 'unknown command "apply"'],
    [['--policies', 'p'], 'unknown command "--policies"'],
  ])('names the command problem for %j', (argv, message) => {
    expect(usageError(argv)).toBe(message);
  });
});

describe('sync --policies', () => {
  it('defaults the overlay, unlisted sources refused and the dry run', () => {
    expect(parseAgentArgs(['sync', '--policies', 'p.json', '--containers', 'c.json'])).toEqual({
      command: 'sync',
      policies: 'p.json',
      containers: 'c.json',
      overlayCidr: '10.255.0.0/16',
      unknownSources: 'reject',
      verify: 'cheap',
      denyLog: { group: 100, rate: { count: 1, per: 'second' } },
      denyNetworks: { always: [], running: [], staging: [] },
      dryRun: false,
      netns: undefined,
    });
  });

  it('--names-file: where the names document for agent names goes', () => {
    expect(
      parseAgentArgs(['sync', '--policies', 'p', '--containers', 'c', '--names-file', '/s/host-names.json']),
    ).toMatchObject({ namesFile: '/s/host-names.json' });
  });

  it('takes every option, the overlay normalized', () => {
    const argv = [
      'sync',
      '--dry-run',
      '--overlay-cidr',
      '10.9.8.7/8',
      '--unknown-sources',
      'allow',
      '--containers',
      'c',
      '--policies',
      'p',
    ];
    expect(parseAgentArgs(argv)).toEqual({
      command: 'sync',
      policies: 'p',
      containers: 'c',
      overlayCidr: '10.0.0.0/8',
      unknownSources: 'allow',
      verify: 'cheap',
      denyLog: { group: 100, rate: { count: 1, per: 'second' } },
      denyNetworks: { always: [], running: [], staging: [] },
      dryRun: true,
      netns: undefined,
    });
  });

  it.each([
    ['reject', 'reject'],
    ['allow', 'allow'],
  ])('takes --unknown-sources %s', (value, unknownSources) => {
    const argv = ['sync', '--policies', 'p', '--containers', 'c', `--unknown-sources=${value}`];
    expect(parseAgentArgs(argv)).toMatchObject({ unknownSources });
  });

  it('takes --netns, and - for the policies (stdin)', () => {
    expect(parseAgentArgs(['sync', '--policies', '-', '--containers', 'c', '--netns', 'cell-1'])).toMatchObject({
      policies: '-',
      netns: 'cell-1',
    });
  });

  it.each([
    [['sync', '--policies', 'p', '--containers', 'c', '--netns', 'a/b'], '--netns: must be 1-64 letters'],
    [['sync', '--policies', 'p', '--containers', 'c', '--netns', '-x'], "Option '--netns' argument is ambiguous"],
    [['sync', '--containers', 'c'], '--policies FILE is required'],
    [['sync', '--policies', 'p'], '--containers FILE is required'],
    [['sync', '--policies', 'p', '--containers', 'c', '--bogus'], "Unknown option '--bogus'"],
    // The other form's options are not this one's.
    [['sync', '--policies', 'p', '--containers', 'c', '--table', 't'], "Unknown option '--table'"],
    [['sync', '--policies', 'p', '--containers', 'c', '--render-only'], "Unknown option '--render-only'"],
    [['sync', '--policies', 'p', '--containers', 'c', 'extra'], "Unexpected argument 'extra'"],
    [['sync', '--containers', 'c', '--policies'], "Option '--policies <value>' argument missing"],
    [['sync', '--policies', 'p', '--containers', 'c', '--dry-run=yes'], "Option '--dry-run' does not take an argument"],
    [
      ['sync', '--policies', 'p', '--containers', 'c', '--overlay-cidr', 'ten'],
      '--overlay-cidr: must be an IPv4 CIDR block such as 10.255.0.0/16, got "ten"',
    ],
    [
      ['sync', '--policies', 'p', '--containers', 'c', '--unknown-sources', 'deny'],
      '--unknown-sources: must be reject or allow, got "deny"',
    ],
    [
      ['sync', '--policies', 'p', '--containers', 'c', '--unknown-sources', 'Reject'],
      '--unknown-sources: must be reject or allow, got "Reject"',
    ],
    [['sync', '--policies', 'p', '--containers', 'c', '--unknown-sources'], "Option '--unknown-sources <value>'"],
  ])('refuses %j', (argv, message) => {
    expect(usageError(argv)).toContain(message);
  });
});

describe('--deny-log-rate and --log-group (both forms of sync)', () => {
  const FILE_SYNC = ['sync', '--policies', 'p', '--containers', 'c'];

  it.each([
    ['1/second', { count: 1, per: 'second' }],
    ['100/second', { count: 100, per: 'second' }],
    ['1/minute', { count: 1, per: 'minute' }],
    ['600/minute', { count: 600, per: 'minute' }],
  ])('takes --deny-log-rate %s with the default group', (value, rate) => {
    for (const argv of [FILE_SYNC, TABLE_SYNC]) {
      expect(parseAgentArgs([...argv, '--deny-log-rate', value])).toMatchObject({ denyLog: { group: 100, rate } });
    }
  });

  it('turns logging off with off, whatever the group', () => {
    for (const argv of [FILE_SYNC, TABLE_SYNC]) {
      expect(parseAgentArgs([...argv, '--deny-log-rate', 'off', '--log-group', '9'])).toMatchObject({ denyLog: 'off' });
    }
  });

  it('takes --log-group from 1 to 65535', () => {
    expect(parseAgentArgs([...FILE_SYNC, '--log-group', '1'])).toMatchObject({ denyLog: { group: 1 } });
    expect(parseAgentArgs([...TABLE_SYNC, '--log-group', '65535'])).toMatchObject({ denyLog: { group: 65535 } });
  });

  it.each([
    [
      '--deny-log-rate',
      '0/second',
      '--deny-log-rate: must be N/second (N at most 100), N/minute (at most 600) or off, got "0/second"',
    ],
    ['--deny-log-rate', '101/second', 'got "101/second"'],
    ['--deny-log-rate', '601/minute', 'got "601/minute"'],
    ['--deny-log-rate', '1/sec', 'got "1/sec"'],
    ['--deny-log-rate', '1/hour', 'got "1/hour"'],
    ['--deny-log-rate', '01/second', 'got "01/second"'],
    ['--deny-log-rate', ' 1/second', 'got " 1/second"'],
    ['--deny-log-rate', 'Off', 'got "Off"'],
    ['--log-group', '0', '--log-group: must be an NFLOG group from 1 to 65535, got "0"'],
    ['--log-group', '65536', 'got "65536"'],
    ['--log-group', '1e3', 'got "1e3"'],
    ['--log-group', '0x10', 'got "0x10"'],
  ])('refuses %s %j', (flag, value, message) => {
    expect(usageError([...FILE_SYNC, flag, value])).toContain(message);
    expect(usageError([...TABLE_SYNC, flag, value])).toContain(message);
  });

  it('describes both flags and their defaults in the help', () => {
    for (const argv of [FILE_SYNC, TABLE_SYNC]) {
      const help = parseAgentArgs([...argv, '--help']);
      expect(help.command === 'help' ? help.text : '').toMatch(
        /--deny-log-rate N\/second\|N\/minute\|off .*\(default: 1\/second\)/,
      );
      expect(help.command === 'help' ? help.text : '').toMatch(/--log-group N .*NFLOG.*\(default: 100\)/);
    }
  });
});

describe('serve', () => {
  const SERVE = ['serve', '--table', 'egress', '--containers', 'c.json', '--state-dir', '/s'];

  it('defaults: the requests folder under /run, a 600 s lock wait, and the table sync’s defaults', () => {
    expect(parseAgentArgs(SERVE)).toEqual({
      command: 'serve',
      table: 'egress',
      containers: 'c.json',
      stateDir: '/s',
      cellName: hostname(),
      overlayCidr: '10.255.0.0/16',
      unknownSources: 'reject',
      denyLog: { group: 100, rate: { count: 1, per: 'second' } },
      denyNetworks: { always: [], running: [], staging: [] },
      netns: undefined,
      proxy: undefined,
      requests: '/run/dynamic-egress',
      lockWaitSeconds: 600,
      syncTimeoutSeconds: 300,
    });
  });

  it('takes the settings of the table sync, its folder and lock wait; not what each request says', () => {
    expect(
      parseAgentArgs([...SERVE, '--requests', '/tmp/r', '--lock-wait', '2.5', '--unknown-sources', 'allow']),
    ).toMatchObject({ requests: '/tmp/r', lockWaitSeconds: 2.5, unknownSources: 'allow' });
    for (const flag of ['--min-version', '--verify', '--dry-run', '--render-only']) {
      expect(usageError([...SERVE, flag, ...(flag.startsWith('--min') || flag === '--verify' ? ['1'] : [])])).toMatch(
        /Unknown option/,
      );
    }
  });

  it.each([
    [['--lock-wait', '0'], '--lock-wait: must be a number of seconds from 1 to 86400, got "0"'],
    [['--lock-wait', 'soon'], '--lock-wait: must be a number of seconds from 1 to 86400, got "soon"'],
    [['--sync-timeout', '0.5'], '--sync-timeout: must be a number of seconds from 1 to 86400, got "0.5"'],
    [['--requests', ''], '--requests is required'],
    [['--table', 'a b'], '--table: not a DynamoDB table name: "a b"'],
  ])('refuses %j', (extra, message) => {
    expect(usageError([...SERVE, ...extra])).toBe(message);
  });
});

describe('sync --from-dynamodb', () => {
  it('defaults: apply, the host name as cell name, any version, the default overlay, no namespace', () => {
    expect(parseAgentArgs(TABLE_SYNC)).toEqual({
      command: 'sync --from-dynamodb',
      table: 'egress',
      containers: 'c.json',
      stateDir: '/s',
      cellName: hostname(),
      minVersion: 0,
      overlayCidr: '10.255.0.0/16',
      unknownSources: 'reject',
      verify: 'cheap',
      denyLog: { group: 100, rate: { count: 1, per: 'second' } },
      denyNetworks: { always: [], running: [], staging: [] },
      mode: 'apply',
      netns: undefined,
      proxy: undefined,
    });
  });

  it('takes every option as SSM and local mode pass them', () => {
    const argv = [
      'sync',
      '--from-dynamodb',
      '--table',
      'dynamic-egress',
      '--containers',
      '/var/vcap/data/container-metadata/store.json',
      '--state-dir',
      '/var/lib/dynamic-egress',
      '--cell-name',
      'i-0abc',
      '--min-version',
      '42',
      '--overlay-cidr',
      '10.254.3.0/16',
      '--unknown-sources',
      'allow',
      '--deny-log-rate',
      '30/minute',
      '--log-group',
      '7',
      '--deny-networks',
      '{"always":["169.254.169.254/32","10.0.0.9/8"],"staging":["192.168.0.0/16"]}',
      '--netns',
      'cell-1',
      '--proxy-dir',
      '/var/lib/dynamic-egress/proxy',
      '--proxy-nameservers',
      '10.0.0.2,10.0.0.3',
      '--proxy-start',
    ];
    expect(parseAgentArgs(argv)).toEqual({
      command: 'sync --from-dynamodb',
      table: 'dynamic-egress',
      containers: '/var/vcap/data/container-metadata/store.json',
      stateDir: '/var/lib/dynamic-egress',
      cellName: 'i-0abc',
      minVersion: 42,
      overlayCidr: '10.254.0.0/16',
      unknownSources: 'allow',
      verify: 'cheap',
      denyLog: { group: 7, rate: { count: 30, per: 'minute' } },
      denyNetworks: { always: ['10.0.0.0/8', '169.254.169.254/32'], running: [], staging: ['192.168.0.0/16'] },
      mode: 'apply',
      netns: 'cell-1',
      proxy: { dir: '/var/lib/dynamic-egress/proxy', nameservers: ['10.0.0.2', '10.0.0.3'], manage: 'start' },
    });
  });

  it('runs the proxy under its unit unless told to start it, with the resolv.conf nameservers unless named', () => {
    expect(parseAgentArgs([...TABLE_SYNC, '--proxy-dir', '/p'])).toMatchObject({
      proxy: { dir: '/p', nameservers: undefined, manage: 'service' },
    });
  });

  it.each([
    [['--proxy-dir', 'relative/dir'], '--proxy-dir: must be an absolute path'],
    [['--proxy-dir', '/a b'], '--proxy-dir: must be an absolute path'],
    [['--proxy-dir', '/a/../etc'], '--proxy-dir: must be an absolute path'],
    [['--proxy-start'], '--proxy-nameservers and --proxy-start need --proxy-dir'],
    [['--proxy-dir', '/p', '--proxy-nameservers', '10.0.0.2,::1'], '--proxy-nameservers: must be 1-3 IPv4'],
  ])('refuses %j', (flags, message) => {
    expect(() => parseAgentArgs([...TABLE_SYNC, ...flags])).toThrow(message);
  });

  it('is selected by --from-dynamodb wherever it stands', () => {
    const argv = ['sync', '--table', 'egress', '--containers', 'c', '--state-dir', '/s', '--from-dynamodb'];
    expect(parseAgentArgs(argv)).toMatchObject({ command: 'sync --from-dynamodb', table: 'egress' });
  });

  it.each([
    [['--dry-run'], 'dry-run'],
    [['--render-only'], 'render-only'],
  ])('%j previews', (flags, mode) => {
    expect(parseAgentArgs([...TABLE_SYNC, ...flags])).toMatchObject({ mode });
  });

  it.each([
    [['sync', '--from-dynamodb', '--containers', 'c', '--state-dir', '/s'], '--table is required'],
    [['sync', '--from-dynamodb', '--table', '', '--containers', 'c', '--state-dir', '/s'], '--table is required'],
    [['sync', '--from-dynamodb', '--table', 'egress', '--state-dir', '/s'], '--containers is required'],
    [['sync', '--from-dynamodb', '--table', 'egress', '--containers', 'c'], '--state-dir is required'],
    [[...TABLE_SYNC, '--dry-run', '--render-only'], '--dry-run and --render-only exclude each other'],
    [[...TABLE_SYNC, '--policies', 'p'], "Unknown option '--policies'"],
    [[...TABLE_SYNC, '--bogus'], "Unknown option '--bogus'"],
    [[...TABLE_SYNC, '--netns'], "Option '--netns <value>' argument missing"],
    [[...TABLE_SYNC, '--min-version', '-1'], "Option '--min-version' argument is ambiguous"],
    [
      ['sync', '--from-dynamodb', '--table', 'a b', '--containers', 'c', '--state-dir', '/s'],
      '--table: not a DynamoDB table name: "a b"',
    ],
    [[...TABLE_SYNC, '--cell-name=-x'], '--cell-name: must be 1-64 letters, digits, ".", "_" or "-", got "-x"'],
    [[...TABLE_SYNC, '--cell-name', ''], '--cell-name: must be 1-64 letters'],
    [[...TABLE_SYNC, '--netns', 'a/b'], '--netns: must be 1-64 letters, digits, ".", "_" or "-", got "a/b"'],
    [[...TABLE_SYNC, '--min-version=-1'], '--min-version: must be a non-negative integer, got "-1"'],
    [[...TABLE_SYNC, '--min-version', '1.5'], '--min-version: must be a non-negative integer, got "1.5"'],
    [[...TABLE_SYNC, '--min-version', '1234567890123456'], '--min-version: must be a non-negative integer'],
    [[...TABLE_SYNC, '--overlay-cidr', '10.0.0.0/33'], '--overlay-cidr: must be an IPv4 CIDR block'],
    [[...TABLE_SYNC, '--unknown-sources', ''], '--unknown-sources: must be reject or allow, got ""'],
    [
      [...TABLE_SYNC, '--unknown-sources', "allow' ; id"],
      `--unknown-sources: must be reject or allow, got "allow' ; id"`,
    ],
  ])('refuses %j', (argv, message) => {
    expect(usageError(argv)).toContain(message);
  });
});

describe('names', () => {
  it('defaults: a loop, the resolv.conf nameservers, the default overlay kept out, the default policy', () => {
    expect(parseAgentArgs(['names', '--names', 'n.json', '--state-dir', '/var/lib/x'])).toEqual({
      command: 'names',
      names: 'n.json',
      stateDir: '/var/lib/x',
      fromSync: false,
      once: false,
      nameservers: undefined,
      never: ['10.255.0.0/16'],
      policy: DEFAULT_NAME_POLICY,
    });
  });

  it("--from-sync: the sync's document in the state directory unless --names says otherwise; --names needed without it", () => {
    expect(parseAgentArgs(['names', '--from-sync', '--state-dir', '/var/lib/x'])).toMatchObject({
      names: '/var/lib/x/host-names.json',
      fromSync: true,
    });
    expect(parseAgentArgs(['names', '--from-sync', '--names', 'n.json', '--state-dir', 'd'])).toMatchObject({
      names: 'n.json',
      fromSync: true,
    });
    expect(() => parseAgentArgs(['names', '--state-dir', 'd'])).toThrow('--names is required');
  });

  it('takes every option: seconds with decimals, the overlay and the always deny networks kept out', () => {
    const parsed = parseAgentArgs([
      'names',
      '--names',
      'n.json',
      '--state-dir',
      'd',
      '--once',
      '--nameservers',
      '198.51.100.53,192.0.2.53',
      '--overlay-cidr',
      '10.250.1.0/24',
      '--deny-networks',
      '{"always":["169.254.0.0/16"],"staging":["10.0.0.0/8"]}',
      '--ttl-floor',
      '1.5',
      '--grace',
      '0',
      '--max-addresses',
      '8',
      '--min-refresh',
      '0.2',
      '--max-refresh',
      '60',
    ]);
    expect(parsed).toEqual({
      command: 'names',
      names: 'n.json',
      stateDir: 'd',
      fromSync: false,
      once: true,
      nameservers: ['198.51.100.53', '192.0.2.53'],
      never: ['10.250.1.0/24', '169.254.0.0/16'],
      policy: {
        ...DEFAULT_NAME_POLICY,
        ttlFloorMs: 1500,
        graceMs: 0,
        maxAddresses: 8,
        minRefreshMs: 200,
        maxRefreshMs: 60_000,
      },
    });
  });

  it.each([
    [['--ttl-floor', '0'], '--ttl-floor: must be a number of seconds from 0.1 to 86400, got "0"'],
    [['--grace=-1'], '--grace: must be a number of seconds from 0 to 86400, got "-1"'],
    [['--grace', '1e3'], '--grace: must be a number of seconds from 0 to 86400, got "1e3"'],
    [['--max-addresses', '0'], '--max-addresses: must be a whole number from 1 to 4096, got "0"'],
    [['--min-refresh', '10', '--max-refresh', '5'], '--max-refresh: must not be shorter than --min-refresh'],
    [
      ['--nameservers', 'dns.example.com'],
      '--nameservers: must be 1-3 IPv4 addresses separated by commas, got "dns.example.com"',
    ],
    [
      ['--nameservers', '1.1.1.1,2.2.2.2,3.3.3.3,4.4.4.4'],
      '--nameservers: must be 1-3 IPv4 addresses separated by commas, got "1.1.1.1,2.2.2.2,3.3.3.3,4.4.4.4"',
    ],
    [['--nameservers', '1.1.1.01'], '--nameservers: must be 1-3 IPv4 addresses separated by commas, got "1.1.1.01"'],
  ])('refuses %j', (flags, message) => {
    expect(usageError(['names', '--names', 'n', '--state-dir', 'd', ...flags])).toBe(message);
  });

  it('requires --names and --state-dir', () => {
    expect(usageError(['names', '--state-dir', 'd'])).toBe('--names is required');
    expect(usageError(['names', '--names', 'n'])).toBe('--state-dir is required');
  });
});

describe('uninstall', () => {
  it('defaults to removing, in the current namespace', () => {
    expect(parseAgentArgs(['uninstall'])).toEqual({ command: 'uninstall', dryRun: false, netns: undefined });
    expect(parseAgentArgs(['uninstall', '--dry-run', '--netns', 'cell-2'])).toEqual({
      command: 'uninstall',
      dryRun: true,
      netns: 'cell-2',
    });
  });

  it.each([
    [['uninstall', '--netns', '../x'], '--netns: must be 1-64 letters'],
    [['uninstall', '--policies', 'p'], "Unknown option '--policies'"],
    [['uninstall', 'now'], "Unexpected argument 'now'"],
  ])('refuses %j', (argv, message) => {
    expect(usageError(argv)).toContain(message);
  });
});

describe('--help', () => {
  const help = (argv: readonly string[]): string => {
    const parsed = parseAgentArgs(argv);
    if (parsed.command !== 'help') throw new Error(`not help: ${JSON.stringify(parsed)}`);
    return parsed.text;
  };

  it.each([[['--help']], [['-h']]])('%j lists every command with what it does', (argv) => {
    const text = help(argv);
    expect(text.startsWith(`${USAGE}\n`)).toBe(true);
    expect(text).toMatch(/^ {2}sync {18}apply the policies of a file/m);
    expect(text).toMatch(/^ {2}sync --from-dynamodb {2}apply the newest policy snapshot/m);
    expect(text).toMatch(/^ {2}sync --from-cache {5}apply the snapshot this cell last applied/m);
    expect(text).toMatch(/^ {2}uninstall {13}remove every chain/m);
  });

  it('sync --help: every option of the files form, one line each, with its default', () => {
    const text = help(['sync', '--help']);
    expect(text.split('\n')[0]).toBe(
      `usage: agent sync --policies FILE|- --containers FILE [--overlay-cidr CIDR] [--unknown-sources reject|allow] [--verify cheap|full] [--deny-log-rate N/second|N/minute|off] [--log-group N] [--deny-networks JSON] [--netns NS] [--names-file FILE] [--dry-run]`,
    );
    const options = text.split('\n').filter((line) => line.startsWith('  --'));
    expect(options.map((line) => line.trim().split(' ')[0])).toEqual([
      '--policies',
      '--containers',
      '--overlay-cidr',
      '--unknown-sources',
      '--verify',
      '--deny-log-rate',
      '--log-group',
      '--deny-networks',
      '--netns',
      '--names-file',
      '--dry-run',
      '--help',
    ]);
    expect(text).toMatch(/^ {2}--policies FILE\|- +the policies .*- reads stdin \(required\)$/m);
    expect(text).toMatch(/^ {2}--overlay-cidr CIDR +the container network.* \(default: 10\.255\.0\.0\/16\)$/m);
    expect(text).toMatch(/^ {2}--unknown-sources reject\|allow +.*\(default: reject\)$/m);
    expect(text).toMatch(
      /^ {2}--netns NS +program the kernel of this network namespace.*\(default: the current one\)$/m,
    );
    expect(text).toContain('agent sync --from-dynamodb --help');
  });

  it('sync --from-dynamodb --help: that form’s options, wherever --help stands', () => {
    const text = help(['sync', '--help', '--from-dynamodb']);
    expect(text).toMatch(/^usage: agent sync --from-dynamodb /);
    expect(text).toMatch(/^ {2}--table NAME +the policy table \(DynamoDB\) \(required\)$/m);
    expect(text).toMatch(/^ {2}--cell-name NAME +.*\(default: this host's name\)$/m);
    expect(text).toMatch(/^ {2}--min-version N +.*\(default: 0\)$/m);
    expect(text).toMatch(/^ {2}--render-only +read no kernel/m);
    expect(text).not.toMatch(/--policies/);
  });

  it('uninstall --help says the units are not its business', () => {
    const text = help(['uninstall', '--help']);
    expect(text).toMatch(/^usage: agent uninstall \[--netns NS\] \[--dry-run\]\n/);
    expect(text).toMatch(/^ {2}--dry-run +print what would be removed/m);
    expect(text).toMatch(/Systemd units and files are not touched/);
  });

  it('every option of every command says what it does', () => {
    for (const argv of [
      ['sync', '--help'],
      ['sync', '--from-dynamodb', '--help'],
      ['sync', '--from-cache', '--help'],
      ['uninstall', '--help'],
    ]) {
      const options = help(argv)
        .split('\n')
        .filter((line) => line.startsWith('  --'));
      for (const line of options) expect(line).toMatch(/^ {2}--\S+(?: \S+)? +\S/);
    }
  });

  it('is a usage error for an unknown command, even with --help', () => {
    expect(usageError(['bogus', '--help'])).toBe('unknown command "bogus"');
  });
});

const CACHE_SYNC = ['sync', '--from-cache', '--containers', 'c.json', '--state-dir', '/s'];

describe('sync --from-cache', () => {
  it('defaults: apply, the default overlay, unlisted sources refused, no namespace', () => {
    expect(parseAgentArgs(CACHE_SYNC)).toEqual({
      command: 'sync --from-cache',
      containers: 'c.json',
      stateDir: '/s',
      overlayCidr: '10.255.0.0/16',
      unknownSources: 'reject',
      denyLog: { group: 100, rate: { count: 1, per: 'second' } },
      denyNetworks: { always: [], running: [], staging: [] },
      dryRun: false,
      netns: undefined,
    });
  });

  it('takes the settings the boot unit passes, as --from-dynamodb takes them', () => {
    const argv = [
      ...CACHE_SYNC,
      '--overlay-cidr',
      '10.7.0.0/16',
      '--unknown-sources',
      'allow',
      '--deny-log-rate',
      'off',
      '--deny-networks',
      '{"always":["10.0.0.0/8"]}',
      '--netns',
      'cell-1',
      '--dry-run',
    ];
    expect(parseAgentArgs(argv)).toMatchObject({
      overlayCidr: '10.7.0.0/16',
      unknownSources: 'allow',
      denyLog: 'off',
      denyNetworks: { always: ['10.0.0.0/8'] },
      netns: 'cell-1',
      dryRun: true,
    });
  });

  it.each([
    [['sync', '--from-cache', '--state-dir', '/s'], '--containers is required'],
    [['sync', '--from-cache', '--containers', 'c'], '--state-dir is required'],
    [[...CACHE_SYNC, '--table', 'egress'], "Unknown option '--table'"],
    [[...CACHE_SYNC, '--verify', 'full'], "Unknown option '--verify'"],
    [[...CACHE_SYNC, '--netns', 'a/b'], '--netns: must be 1-64 letters'],
    [[...CACHE_SYNC, '--unknown-sources', 'open'], '--unknown-sources: must be reject or allow, got "open"'],
  ])('refuses %j', (argv, message) => {
    expect(usageError(argv)).toContain(message);
  });
});

describe('logs and ulogd-config', () => {
  it('logs: the two files, standard output by default, from the end of the input', () => {
    expect(parseAgentArgs(['logs', '--containers', 'store.json', '--input', 'ulogd.json'])).toEqual({
      command: 'logs',
      containers: 'store.json',
      input: 'ulogd.json',
      output: undefined,
      fromStart: false,
      positionFile: undefined,
      proxyPort: 15514,
    });
    expect(
      parseAgentArgs(['logs', '--containers', 'c', '--input', 'i', '--position-file', '/var/lib/x/logs.position']),
    ).toMatchObject({ positionFile: '/var/lib/x/logs.position' });
    expect(
      parseAgentArgs(['logs', '--containers', 'c', '--input', 'i', '--output', 'o.log', '--from-start']),
    ).toMatchObject({ output: 'o.log', fromStart: true });
    expect(parseAgentArgs(['logs', '--containers', 'c', '--input', 'i', '--proxy-port', 'off'])).toMatchObject({
      proxyPort: undefined,
    });
    expect(parseAgentArgs(['logs', '--containers', 'c', '--input', 'i', '--proxy-port', '9000'])).toMatchObject({
      proxyPort: 9000,
    });
  });

  it("ulogd-config: the group of sync and Debian's plugin directory by default", () => {
    expect(parseAgentArgs(['ulogd-config', '--json-file', '/var/log/ulogd/egress.json'])).toEqual({
      command: 'ulogd-config',
      group: 100,
      jsonFile: '/var/log/ulogd/egress.json',
      pluginDir: '/usr/lib/x86_64-linux-gnu/ulogd',
      logfile: 'syslog',
    });
  });

  it.each([
    [['logs', '--input', 'i'], '--containers is required'],
    [['logs', '--containers', 'c', '--input', 'i', '--proxy-port', '0'], '--proxy-port: must be a port'],
    [['logs', '--containers', 'c'], '--input is required'],
    [['logs', '--containers', 'c', '--input', 'i', '--output', ''], '--output is required'],
    [['logs', '--containers', 'c', '--input', 'i', '--netns', 'x'], "Unknown option '--netns'"],
    [['ulogd-config'], '--json-file is required'],
    [['ulogd-config', '--json-file', 'a"b'], '--json-file: must not contain quotes'],
    [['ulogd-config', '--json-file', 'a\nstack=x'], '--json-file: must not contain quotes'],
    [['ulogd-config', '--json-file', 'f', '--plugin-dir', '/x"'], '--plugin-dir: must not contain quotes'],
    [['ulogd-config', '--json-file', 'f', '--log-group', '0'], '--log-group: must be an NFLOG group from 1 to 65535'],
  ])('refuses %j', (argv, message) => {
    expect(usageError(argv)).toContain(message);
  });
});
