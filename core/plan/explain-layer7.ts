// "Would this HTTP request (or TLS connection) be let through by the cell's proxy, and why?" Pure.
// The same plan the agent gives its proxy (layer7.ts, from the same snapshot builder), tested the way
// the proxy's configuration tests it (agent/proxy/haproxy-config.ts): the destinations for the
// container's app, its space and every app (each for its lifecycle) on that port and protocol, in id
// order, the first whose hosts match the Host (or SNI) and, for http, one of whose routes matches
// (method, whole path, exact headers; a path with dot segments, `//`, `%2e`/`%2f` or a backslash never
// matches a path route).
//
// What it cannot tell: where the name resolves. The proxy connects only to the address the cell's
// resolver gives for the matched name, and refuses one in its refused networks (the deny networks,
// the overlay, loopback, link-local, multicast); the reasons say so. A connection to an address the
// container's tcp rules allow is not intercepted at all: that is a tcp question (explain.ts).
import { hostMatches } from '../domain/host-names.js';
import { numberToIpv4, parseCidr } from '../domain/ipv4.js';
import { anchoredPathRegex, isOddPath } from '../domain/path-regex.js';
import { type ContainerWorkload, lifecycleOf, type SecurityGroup } from '../domain/security-group.js';
import { buildSnapshot, snapshotToPolicyList } from '../domain/snapshot.js';
import type { EgressPolicy } from '../domain/types.js';
import { policyApplies } from './explain.js';
import { type Layer7Destination, type Layer7Protocol, planLayer7 } from './layer7.js';
import type { Container } from './model.js';
import { DEFAULT_OVERLAY_CIDR } from './plan.js';

/** An http request or a TLS connection from a container of `app` (in `space`, of `org`). */
export interface Layer7Query {
  readonly app: string;
  readonly space: string;
  readonly org?: string;
  readonly workload: ContainerWorkload;
  readonly protocol: Layer7Protocol;
  /** The Host header (http, without its port) or the TLS SNI (https). */
  readonly host: string;
  readonly port: number;
  /** http only. @default 'GET' */
  readonly method?: string;
  /** http only, without the query string. @default '/' */
  readonly path?: string;
  /** http only: header names in lower case. */
  readonly headers?: Readonly<Record<string, string>>;
}

export type Layer7Reason =
  | {
      /** The destination whose hosts (and, for http, one of whose routes) match; the policies that give it. */
      readonly type: 'layer7_destination';
      readonly description: string;
      readonly destination: { readonly id: string; readonly name: string };
      /** The route that matched; absent when the destination has none (any request). */
      readonly route_index?: number;
      readonly policies: readonly EgressPolicy[];
    }
  | {
      /** Nothing matched; `near` lists what came close and why it did not match. */
      readonly type: 'layer7_refused';
      readonly description: string;
      readonly near: readonly { readonly destination: string; readonly why: string }[];
    };

export interface Layer7Explanation {
  readonly allowed: boolean;
  readonly version: number;
  readonly reasons: readonly Layer7Reason[];
}

export interface Layer7ExplainState {
  readonly version: number;
  readonly policies: readonly EgressPolicy[];
  readonly groups: readonly SecurityGroup[];
}

const RESOLVED_NOTE =
  "the proxy then connects to the address the cell's resolver gives for the name, unless it is in a deny network, the container network, loopback, link-local or multicast";

export function explainLayer7(
  query: Layer7Query,
  state: Layer7ExplainState,
  options: { readonly overlayCidr?: string } = {},
): Layer7Explanation {
  // Any address of the overlay: the plan only needs the container to have one.
  const ip = numberToIpv4(parseCidr(options.overlayCidr ?? DEFAULT_OVERLAY_CIDR).start + 2);
  const container: Container = {
    ip,
    appId: query.app,
    spaceId: query.space,
    ...(query.org === undefined ? {} : { orgId: query.org }),
    lifecycle: lifecycleOf(query.workload),
  };
  const policies = snapshotToPolicyList(buildSnapshot(state.version, state.policies, state.groups));
  const plan = planLayer7(policies, [container]);
  const destinations = plan.destinations.filter((destination) => destination.sources.includes(ip));
  const answer = (allowed: boolean, reasons: Layer7Reason[]): Layer7Explanation => ({
    allowed,
    version: state.version,
    reasons,
  });
  // Withheld destinations (one port as http and https) would otherwise look like no destination at all.
  const onQueryPort = (id: string): boolean =>
    state.policies.some(({ destination }) => destination.id === id && coversPort(destination.ports, query.port));
  const conflict = plan.conflicts.find(({ http, https }) => onQueryPort(http) || onQueryPort(https));
  if (conflict !== undefined) {
    return answer(false, [
      {
        type: 'layer7_refused',
        description: `this container's policies give port ${conflict.ports.start === conflict.ports.end ? conflict.ports.start : `${conflict.ports.start}-${conflict.ports.end}`} both as http (destination ${conflict.http}) and as https (destination ${conflict.https}); its connections to a port go to one listener, so cells withhold both destinations from it, on every port of theirs, until the policies change`,
        near: [],
      },
    ]);
  }
  const onPort = destinations.filter((destination) => coversPort(destination.ports, query.port));
  const sameProtocol = onPort.filter((destination) => destination.protocol === query.protocol);
  if (sameProtocol.length === 0) {
    const other = onPort.find((destination) => destination.protocol !== query.protocol);
    return answer(false, [
      {
        type: 'layer7_refused',
        description:
          other === undefined
            ? `no ${query.protocol} destination for app ${query.app}, space ${query.space} or every app is on port ${query.port}: the connection is not sent to the proxy, and only its address can allow it (explain it as tcp with its ip)`
            : `port ${query.port} of this container goes to the proxy as ${other.protocol} (destination ${other.id}), not ${query.protocol}`,
        near: [],
      },
    ]);
  }
  const near: { destination: string; why: string }[] = [];
  for (const destination of sameProtocol) {
    if (!destination.hosts.some((pattern) => hostMatches(pattern, query.host))) {
      near.push({
        destination: destination.id,
        why: `its hosts (${shown(destination.hosts)}) do not name ${query.host}`,
      });
      continue;
    }
    const routes = query.protocol === 'http' ? (destination.routes ?? []) : [];
    const grant = (routeIndex?: number): Layer7Explanation => {
      // The stored policies that give it (the snapshot keeps no policy ids): the container's app's,
      // its space's, and those for every app, each for its lifecycle or every one.
      const granted = state.policies.filter(
        (policy) => policy.destination.id === destination.id && policyApplies(policy, container),
      );
      const name = granted[0]?.destination.name ?? destination.id;
      const route = routeIndex === undefined ? '' : ` (route ${routeIndex})`;
      return answer(true, [
        {
          type: 'layer7_destination',
          description: `destination "${name}" (${destination.id}) lets ${query.protocol === 'http' ? 'this request' : 'this TLS connection'} to ${query.host} on port ${query.port} through${route}, by egress policy ${granted.map((policy) => policy.id).join(', ')}; ${RESOLVED_NOTE}`,
          destination: { id: destination.id, name },
          ...(routeIndex === undefined ? {} : { route_index: routeIndex }),
          policies: granted,
        },
      ]);
    };
    if (routes.length === 0) return grant();
    const misses: string[] = [];
    for (const [index, route] of routes.entries()) {
      const miss = routeMiss(route, query);
      if (miss === undefined) return grant(index);
      misses.push(`route ${index}: ${miss}`);
    }
    near.push({ destination: destination.id, why: misses.join('; ') });
  }
  return answer(false, [
    {
      type: 'layer7_refused',
      description: `no ${query.protocol} destination for app ${query.app}, space ${query.space} or every app on port ${query.port} lets ${query.host} through: the proxy answers ${query.protocol === 'http' ? '403' : 'by closing the connection'}`,
      near,
    },
  ]);
}

/** Why a request does not match a route, or undefined when it does (haproxy-config.ts's test). */
function routeMiss(route: NonNullable<Layer7Destination['routes']>[number], query: Layer7Query): string | undefined {
  const method = query.method ?? 'GET';
  const path = query.path ?? '/';
  if (route.methods !== undefined && !route.methods.includes(method)) {
    return `method ${method} is not one of ${route.methods.join(', ')}`;
  }
  if (route.path_regex !== undefined) {
    if (isOddPath(path)) {
      return `path ${path} has a dot segment, "//", an encoded dot, slash, backslash or percent sign, %u, %00, or a backslash`;
    }
    if (!new RegExp(anchoredPathRegex(route.path_regex)).test(path)) {
      return `path ${path} does not match ${route.path_regex} (the whole path)`;
    }
  }
  for (const [name, value] of Object.entries(route.headers ?? {})) {
    const sent = query.headers?.[name.toLowerCase()];
    if (sent !== value)
      return `header ${name} must be ${JSON.stringify(value)}${sent === undefined ? '' : `, got ${JSON.stringify(sent)}`}`;
  }
  return undefined;
}

const shown = (hosts: Layer7Destination['hosts']): string =>
  hosts.length > 3 ? `${hosts.slice(0, 3).join(', ')} and ${hosts.length - 3} more` : hosts.join(', ');

const coversPort = (ranges: readonly { readonly start: number; readonly end: number }[], port: number): boolean =>
  ranges.some((range) => range.start <= port && port <= range.end);
