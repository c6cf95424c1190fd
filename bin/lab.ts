// `npm run lab [-- up|down] …`: namespace cells that outlive the command (local/lab/lab-command.ts).
import { runLabCommand } from '../local/lab/lab-command.js';

process.exitCode = await runLabCommand(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
});
