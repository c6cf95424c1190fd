// `npm run demo` (root, Linux): the two scenarios of CF's dynamic egress announcement on real
// network namespaces (local/demo.ts). `npm run demo -- --help` prints its usage and builds nothing.
import { runDemo } from '../local/demo.js';

// Local mode runs on the machine's Node 20 on purpose (Lambda runs 22); the SDK's notice about
// future Node versions is noise here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

process.exitCode = await runDemo(process.argv.slice(2));
