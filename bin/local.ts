// `npm start`: the whole system on this machine (local/start.ts; flags and environment in
// local/start-options.ts). `npm start -- --help` prints them and starts nothing.
import { helpRequested } from '../local/command-line.js';
import { startHelp } from '../local/start-options.js';

if (helpRequested(process.argv.slice(2))) {
  console.log(startHelp());
  process.exit(0);
}

// Local mode runs on the machine's Node 20 on purpose (Lambda runs 22); the SDK's notice about
// future Node versions is noise here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

// Loaded only now: `--help` needs none of it.
const { runLocalMode } = await import('../local/start.js');
// Exit as soon as the run is over, without waiting for anything a stop may leave behind.
process.exit(await runLocalMode(process.argv.slice(2), process.env));
