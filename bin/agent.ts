// Cell agent entry point: `npm run --silent agent -- --help` lists the commands
// (`sync --policies FILE|- --containers FILE`, `sync --from-dynamodb …`, `uninstall`).
import { runCli } from '../agent/cli.js';

process.exitCode = await runCli(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  // Lazy: only `--policies -` touches stdin, so no other command opens (or waits on) it.
  stdin: { [Symbol.asyncIterator]: () => process.stdin[Symbol.asyncIterator]() },
});
