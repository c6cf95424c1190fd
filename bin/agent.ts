// Cell agent entry point: `npm run --silent agent -- sync --policies FILE --containers FILE [--dry-run]`.
import { runCli } from '../agent/cli.js';

process.exitCode = await runCli(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
});
