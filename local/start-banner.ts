// What `npm start` prints once everything is up: where the API and the data are, how to get a token,
// and what each cell does.
import { API_PREFIX } from '../lambdas/api/routes.js';
import type { LocalCell } from './cells/local-cells.js';

export interface StartBannerFacts {
  readonly url: string;
  readonly dynamodbEndpoint: string;
  readonly tableName: string;
  readonly inMemory: boolean;
  readonly stateDir: string;
  readonly cells: readonly LocalCell[];
  /** The cells' proxy for http and https destinations: `on`, or why not (cell-proxies.ts). */
  readonly proxy?: string;
}

const describeCell = (cell: LocalCell): string =>
  cell.netns ? `${cell.name} (netns ${cell.netns})` : `${cell.name} (dry run: logs the rules it would apply)`;

export function startBanner(facts: StartBannerFacts): string {
  const api = `${facts.url}${API_PREFIX}`;
  const data = facts.inMemory ? ', in memory' : `, data in ${facts.stateDir}/dynamodb`;
  return `dynamic-egress local mode
  API:       ${api}
  DynamoDB:  ${facts.dynamodbEndpoint} (table ${facts.tableName}${data})
  Token:     export TOKEN="$(npm run --silent token)"
  Try:       curl -H "Authorization: Bearer $TOKEN" ${api}/destinations
  Cells:     ${facts.cells.map(describeCell).join(', ')}
             GET ${api}/cells shows the version each enforcing cell applied
             (a dry-run cell enforces nothing, so it is not listed; set EGRESS_LOCAL_CELLS for real cells)${
               facts.proxy === undefined
                 ? ''
                 : `\n  Proxy:     ${facts.proxy} (http and https destinations, per namespace cell)`
             }
Ctrl-C stops everything.`;
}
