// `npm start`: the whole system on this machine (local/start.ts; flags and environment in
// local/start-options.ts).
import { runLocalMode } from '../local/start.js';

// Local mode runs on the machine's Node 20 on purpose (Lambda runs 22); the SDK's notice about
// future Node versions is noise here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

// Exit as soon as the run is over, without waiting for anything a stop may leave behind.
process.exit(await runLocalMode(process.argv.slice(2), process.env));
