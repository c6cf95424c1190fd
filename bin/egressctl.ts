// `egressctl` (`npm run --silent ctl -- …`): the control-plane CLI (ctl/). `egressctl --help` lists
// the commands; bin/egressctl.js is the same entry for the package's `bin`, runnable from any folder.
import { runCtl } from '../ctl/cli.js';

process.exitCode = await runCtl(
  process.argv.slice(2),
  {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
  },
  process.env,
);
