// `agent sync --policies FILE --containers FILE [--overlay-cidr CIDR] [--dry-run]`
// Exit codes: 0 success · 1 invalid input (rules untouched) · 2 usage · 3 the kernel could not be
// read or programmed (rules untouched). Failures print one `error: ...` line on stderr.
import { parseArgs } from 'node:util';
import { ValidationError } from '../core/domain/errors.js';
import { overlayCidrArgument } from './cli-args.js';
import { DYNAMODB_USAGE, runDynamoDbSync } from './cli-dynamodb.js';
import { ApplyError, UsageError } from './errors.js';
import { DEFAULT_OVERLAY_CIDR } from './plan.js';
import type { CommandRunner } from './runner.js';
import { readContainersFile, readPoliciesFile } from './source/files.js';
import { sync } from './sync.js';

export const EXIT_OK = 0;
export const EXIT_INVALID_INPUT = 1;
export const EXIT_USAGE = 2;
export const EXIT_APPLY_FAILED = 3;

export const USAGE = `usage: agent sync --policies FILE --containers FILE [--overlay-cidr CIDR] [--dry-run]
       ${DYNAMODB_USAGE.replace('usage: ', '')}`;

export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly runner?: CommandRunner;
}

interface SyncArgs {
  readonly policies: string;
  readonly containers: string;
  readonly overlayCidr: string;
  readonly dryRun: boolean;
}

export function parseCli(argv: readonly string[]): SyncArgs {
  const [command, ...rest] = argv;
  if (command !== 'sync')
    throw new UsageError(command === undefined ? 'missing command' : `unknown command ${JSON.stringify(command)}`);
  let values: { policies?: string; containers?: string; 'overlay-cidr'?: string; 'dry-run'?: boolean };
  try {
    ({ values } = parseArgs({
      args: [...rest],
      strict: true,
      allowPositionals: false,
      options: {
        policies: { type: 'string' },
        containers: { type: 'string' },
        'overlay-cidr': { type: 'string', default: DEFAULT_OVERLAY_CIDR },
        'dry-run': { type: 'boolean', default: false },
      },
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (values.policies === undefined) throw new UsageError('--policies FILE is required');
  if (values.containers === undefined) throw new UsageError('--containers FILE is required');
  const overlayCidr = overlayCidrArgument(values['overlay-cidr'] ?? DEFAULT_OVERLAY_CIDR);
  return { policies: values.policies, containers: values.containers, overlayCidr, dryRun: values['dry-run'] === true };
}

const oneLine = (text: string): string => text.replace(/\s*\n\s*/g, ' ').trim();

/** Run the CLI; returns the exit code instead of exiting, so it can be tested in-process. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  try {
    if (argv[0] === 'sync' && argv.includes('--from-dynamodb')) {
      await runDynamoDbSync(argv.slice(1), io);
      return EXIT_OK;
    }
    const args = parseCli(argv);
    const policies = await readPoliciesFile(args.policies);
    const containers = await readContainersFile(args.containers);
    const result = await sync(policies, containers, {
      overlayCidr: args.overlayCidr,
      dryRun: args.dryRun,
      ...(io.runner === undefined ? {} : { runner: io.runner }),
    });
    if (args.dryRun) {
      const setLines = [...result.setsBefore, ...result.setsAfter].map((line) => `# ipset: ${line}\n`).join('');
      io.stdout(`${setLines}${result.payload ?? (setLines === '' ? '# no changes\n' : '')}`);
    }
    return EXIT_OK;
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr(`error: ${oneLine(error.message)}\n${USAGE}\n`);
      return EXIT_USAGE;
    }
    if (error instanceof ValidationError) {
      io.stderr(`error: invalid input, rules unchanged: ${oneLine(error.message)}\n`);
      return EXIT_INVALID_INPUT;
    }
    if (error instanceof ApplyError) {
      io.stderr(`error: ${oneLine(error.message)}\n`);
      return EXIT_APPLY_FAILED;
    }
    io.stderr(`error: unexpected failure: ${oneLine(error instanceof Error ? error.message : String(error))}\n`);
    return EXIT_APPLY_FAILED;
  }
}
