// `egressctl explain`: would this connection from this container be allowed, and why. Exits 0 when
// allowed and EXIT_DENIED when not, so a script can ask before it relies on a connection.

import { escapeNonPrinting } from '../../core/domain/validation.js';
import { API_PREFIX } from '../../lambdas/api/routes.js';
import { decodeAnswer, type Explanation, explanationSchema } from '../answers.js';
import type { CommandSpec } from '../command-table.js';
import { type CtlContext, printJson } from '../context.js';
import { UsageError } from '../errors.js';
import { EXIT_DENIED, EXIT_OK } from '../exit-codes.js';

/** flag → query parameter of GET /explain. */
const PARAMETERS: Readonly<Record<string, string>> = {
  app: 'app',
  space: 'space',
  org: 'org',
  workload: 'workload',
  ip: 'ip',
  port: 'port',
  protocol: 'protocol',
  'icmp-type': 'icmp_type',
  'icmp-code': 'icmp_code',
  host: 'host',
  method: 'method',
  path: 'path',
  headers: 'headers',
};

/** The verdict, then one line per reason, as a person reads it. */
export function explanationText(explanation: Explanation): string {
  const verdict = explanation.allowed ? 'ALLOWED' : 'DENIED';
  const reasons = explanation.reasons.map(
    (reason) => `  ${escapeNonPrinting(reason.type)}: ${escapeNonPrinting(reason.description)}`,
  );
  return `${[`${verdict} (policy version ${explanation.version})`, ...reasons].join('\n')}\n`;
}

export const EXPLAIN_COMMANDS: readonly CommandSpec<CtlContext>[] = [
  {
    words: ['explain'],
    summary: 'would a connection be allowed, and why (exit 0 allowed, 5 denied)',
    options: {
      app: { type: 'string', value: 'GUID', description: "the container's app (required)" },
      space: { type: 'string', value: 'GUID', description: "the app's space (required)" },
      org: {
        type: 'string',
        value: 'GUID',
        description: "the space's organisation (without it, org-bound groups do not apply)",
      },
      workload: { type: 'string', value: 'app|task|staging', description: 'the kind of container', defaultText: 'app' },
      ip: { type: 'string', value: 'A.B.C.D', description: 'where it connects to (required for tcp, udp, icmp)' },
      port: { type: 'string', value: 'N', description: 'the port (tcp, udp, http, https)' },
      protocol: {
        type: 'string',
        value: 'tcp|udp|icmp|http|https',
        description: 'the protocol; http and https ask about the cell proxy',
        defaultText: 'tcp',
      },
      'icmp-type': { type: 'string', value: 'T', description: 'icmp type', defaultText: '8 (echo request)' },
      'icmp-code': { type: 'string', value: 'C', description: 'icmp code', defaultText: '0' },
      host: {
        type: 'string',
        value: 'NAME',
        description: 'http: the Host header; https: the TLS SNI (required for those)',
      },
      method: { type: 'string', value: 'METHOD', description: 'http: the request method', defaultText: 'GET' },
      path: { type: 'string', value: '/PATH', description: 'http: the request path', defaultText: '/' },
      headers: { type: 'string', value: 'JSON', description: 'http: the request headers, as {"name":"value",…}' },
    },
    notes: [
      'example:',
      '  egressctl explain --app APP_GUID --space SPACE_GUID --org ORG_GUID --ip 23.96.35.235 --port 3306',
      '  egressctl explain --app APP_GUID --space SPACE_GUID --protocol http --host httpbin.org --port 80 --path /get',
      '',
      'Prints ALLOWED or DENIED, then each reason (egress policies, security groups, deny networks, the',
      'default deny; for http and https the destination and route the cell proxy matches, or what came',
      'close); --json prints the API answer. The exit code is the verdict.',
    ],
    run: async (invocation, context) => {
      const layer7 = ['http', 'https'].includes(invocation.string('protocol') ?? '');
      const missing = ['app', 'space', layer7 ? 'host' : 'ip'].filter((flag) => invocation.string(flag) === undefined);
      if (missing.length > 0) {
        throw new UsageError(`explain: ${missing.map((flag) => `--${flag}`).join(', ')} required (see --help)`);
      }
      const query = new URLSearchParams();
      const defaults: Record<string, string> = { workload: 'app', protocol: 'tcp' };
      for (const [flag, parameter] of Object.entries(PARAMETERS)) {
        const value = invocation.string(flag) ?? defaults[flag];
        if (value !== undefined) query.set(parameter, value);
      }
      const api = await context.api();
      const raw = await api.request('GET', `${API_PREFIX}/explain`, { query });
      const explanation = decodeAnswer(explanationSchema, raw, 'explanation');
      if (context.json) printJson(context.io, raw);
      else context.io.stdout(explanationText(explanation));
      return explanation.allowed ? EXIT_OK : EXIT_DENIED;
    },
  },
];
