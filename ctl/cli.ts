// egressctl's command line: find the command, print help when asked, parse strictly, run it, and
// turn every failure into one `error: ...` line, a hint, and the exit code scripts rely on
// (exit-codes.ts). Resolves with the exit code instead of exiting, so it is tested in-process too.
import { escapeNonPrinting } from '../core/domain/validation.js';
import type { ApiClient } from './api-client.js';
import { apiClient } from './api-client.js';
import { commandHelp, findCommand, HELP_FLAGS, helpHint, overviewHelp, parseInvocation } from './command-table.js';
import { COMMANDS } from './commands.js';
import type { CtlIo } from './context.js';
import { CtlError, UsageError } from './errors.js';
import { EXIT_OK } from './exit-codes.js';
import { type Environment, resolveTarget } from './target.js';

const wantsHelp = (args: readonly string[]): boolean => args.some((arg) => HELP_FLAGS.includes(arg));

function failure(io: CtlIo, error: CtlError): number {
  io.stderr(`error: ${escapeNonPrinting(error.message)}\n`);
  if (error.hint) io.stderr(`hint: ${error.hint}\n`);
  return error.exitCode;
}

export async function runCtl(
  argv: readonly string[],
  io: CtlIo,
  env: Environment,
  now: () => Date = () => new Date(),
): Promise<number> {
  const [first] = argv;
  if (first === undefined || HELP_FLAGS.includes(first)) {
    if (first === undefined) {
      io.stderr(overviewHelp(COMMANDS));
      return failure(io, new UsageError('missing command', 'run `egressctl --help`'));
    }
    io.stdout(overviewHelp(COMMANDS));
    return EXIT_OK;
  }
  const found = findCommand(COMMANDS, argv);
  if (found === undefined) {
    const group = COMMANDS.filter((command) => command.words[0] === first);
    if (group.length > 0 && wantsHelp(argv)) {
      io.stdout(overviewHelp(COMMANDS, first));
      return EXIT_OK;
    }
    const known =
      group.length > 0
        ? `${first} takes: ${group.map((command) => command.words.slice(1).join(' ')).join(', ')}`
        : `commands: ${[...new Set(COMMANDS.map((command) => command.words[0]))].join(', ')}`;
    const problem =
      group.length > 0 && argv[1] === undefined
        ? `${first}: missing command`
        : `unknown command ${JSON.stringify(group.length > 0 ? `${first} ${argv[1]}` : first)}`;
    return failure(io, new UsageError(`${problem} (${known})`, 'run `egressctl --help`'));
  }
  const { command, rest } = found;
  if (wantsHelp(rest)) {
    io.stdout(commandHelp(command));
    return EXIT_OK;
  }
  try {
    const invocation = parseInvocation(command, rest);
    let client: Promise<ApiClient> | undefined;
    const api = (): Promise<ApiClient> => {
      const token = invocation.string('token');
      const url = invocation.string('api');
      client ??= resolveTarget(
        { ...(url === undefined ? {} : { api: url }), ...(token === undefined ? {} : { token }) },
        env,
      ).then((target) => apiClient(target));
      return client;
    };
    return await command.run(invocation, { io, json: invocation.flag('json'), now, api });
  } catch (error) {
    if (error instanceof UsageError && error.hint === undefined) {
      return failure(io, new UsageError(error.message, helpHint(command)));
    }
    if (error instanceof CtlError) return failure(io, error);
    throw error;
  }
}
