// Security groups as cells get them in a snapshot: every distinct rule once, parsed into the address
// and port ranges the agent enforces, and one binding per (scope, lifecycle, target) listing the
// rules of every group bound there, merged and deduplicated. Cells need neither group names nor
// guids: a container's rules follow from its space, its organisation and its lifecycle.
import * as z from 'zod/mini';
import { addressPart, namePart } from './destination-parts.js';
import { hostNameProblem, isWildcardHost } from './host-names.js';
import {
  type HttpRoute,
  httpRouteListSchema,
  ICMP_ANY,
  type IpRange,
  identifierSchema,
  ipRangeSchema,
  type PortRange,
  portRangeSchema,
} from './schemas.js';
import { LIFECYCLES, type Lifecycle, type SecurityGroup, type SecurityGroupRule } from './security-group.js';
import { destinationRanges, portRanges } from './security-group-rules.js';
import type { EgressPolicy, EgressPolicyList } from './types.js';
import { zodEnglish } from './validation.js';

/** What a rule by address matches (security-group rules, and the addresses of a policy's destination). */
export const GROUP_RULE_PROTOCOLS = ['tcp', 'udp', 'icmp', 'all'] as const;
export type GroupRuleProtocol = (typeof GROUP_RULE_PROTOCOLS)[number];

/** What a rule by host name matches: tcp/udp by resolved address, http/https at the cell's proxy. */
export const NAME_RULE_PROTOCOLS = ['tcp', 'udp', 'http', 'https'] as const;
export type NameRuleProtocol = (typeof NAME_RULE_PROTOCOLS)[number];

/**
 * Where a binding applies: every container of the lifecycle, an app's (egress policies for one
 * lifecycle), a space's, or an organisation's.
 */
export const BINDING_SCOPES = ['global', 'app', 'space', 'organization'] as const;
export type BindingScope = (typeof BINDING_SCOPES)[number];

/**
 * One rule by address, as cells enforce it. `ips` are inclusive ranges (at least one); `ports`
 * (tcp, udp) ranges; icmp `icmp_type`/`icmp_code` with -1 for any (CF's type 255 is stored as -1:
 * iptables reads 255 as "any type" too). `all` matches every protocol to those addresses.
 */
export interface AddressRuleDocument {
  readonly protocol: GroupRuleProtocol;
  readonly ips: readonly IpRange[];
  readonly ports: readonly PortRange[];
  readonly icmp_type?: number;
  readonly icmp_code?: number;
  readonly log?: boolean;
  readonly hosts?: undefined;
  readonly destination?: undefined;
  readonly routes?: undefined;
}

/**
 * A rule by host name: the name part of a v1 destination (destination-parts.ts) whose policy travels
 * as a binding (bindPolicies), with the destination's id. tcp and udp hold exact names, which cells
 * match through the destination's host set (core/plan/name-enforcement.ts); http and https (wildcards
 * allowed, routes for http) go to the cell's proxy (core/plan/layer7.ts). `ips` is always empty.
 * Explain plans tcp/udp ones without their names. Security groups never have one.
 */
export interface NameRuleDocument {
  readonly protocol: NameRuleProtocol;
  readonly ips: readonly IpRange[];
  readonly ports: readonly PortRange[];
  readonly hosts: readonly string[];
  readonly destination: string;
  /** http only; absent, any request. */
  readonly routes?: readonly HttpRoute[];
  readonly icmp_type?: undefined;
  readonly icmp_code?: undefined;
  readonly log?: undefined;
}

export type GroupRuleDocument = AddressRuleDocument | NameRuleDocument;

/** [scope, lifecycle, target guid ('' for global), indexes into rules]. */
export type GroupBinding = readonly [BindingScope, Lifecycle, string, readonly number[]];

export interface SecurityGroupsSection {
  readonly rules: readonly GroupRuleDocument[];
  readonly bindings: readonly GroupBinding[];
}

export const EMPTY_GROUPS: SecurityGroupsSection = { rules: [], bindings: [] };

/** The most address ranges one rule may hold (a CF destination list, each entry a range or CIDR). */
export const MAX_GROUP_RULE_RANGES = 6000;

const english = { error: zodEnglish };
const icmpValue = () => z.number(english).check(z.int(), z.gte(ICMP_ANY), z.lte(255));

/** A rule by host name holds at most this many names (a destination's limit in the API is lower). */
export const MAX_GROUP_RULE_HOSTS = 64;

const hostSchema = z.string(english).check(
  z.superRefine((value, context) => {
    const problem = hostNameProblem(value);
    if (problem !== undefined) context.issues.push({ code: 'custom', message: problem, input: value });
  }),
);

const isAddressProtocol = (protocol: string): protocol is GroupRuleProtocol =>
  GROUP_RULE_PROTOCOLS.some((allowed) => allowed === protocol);
const isNameProtocol = (protocol: string): protocol is NameRuleProtocol =>
  NAME_RULE_PROTOCOLS.some((allowed) => allowed === protocol);

/** Every key either kind of rule may have; which ones a rule may use follows from `hosts` (checkRuleKind). */
const ruleFieldsSchema = z.strictObject(
  {
    protocol: z.enum([...GROUP_RULE_PROTOCOLS, 'http', 'https'], english),
    ips: z.array(ipRangeSchema, english).check(z.maxLength(MAX_GROUP_RULE_RANGES)),
    ports: z.array(portRangeSchema, english).check(z.maxLength(65535)),
    icmp_type: z.optional(icmpValue()),
    icmp_code: z.optional(icmpValue()),
    log: z.optional(z.boolean(english)),
    hosts: z.optional(z.array(hostSchema, english).check(z.minLength(1), z.maxLength(MAX_GROUP_RULE_HOSTS))),
    destination: z.optional(identifierSchema),
    routes: z.optional(httpRouteListSchema),
  },
  english,
);
type RuleFields = z.output<typeof ruleFieldsSchema>;

/** A rule by address has no name fields; a rule by host name no address, icmp or log fields. */
const checkRuleKind = z.superRefine((rule: RuleFields, ctx) => {
  const issue = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
  if (rule.hosts === undefined) {
    if (!isAddressProtocol(rule.protocol)) issue('protocol', `${rule.protocol} needs hosts`);
    if (rule.ips.length === 0) issue('ips', 'must hold at least one range');
    if (rule.destination !== undefined) issue('destination', 'is only allowed with hosts');
    if (rule.routes !== undefined) issue('routes', 'are only allowed with hosts');
    return;
  }
  if (!isNameProtocol(rule.protocol)) issue('hosts', 'are only allowed for tcp, udp, http and https');
  if (rule.ips.length > 0) issue('ips', 'must be empty in a rule by host name');
  if (rule.destination === undefined) issue('destination', 'is required with hosts');
  for (const field of ['log', 'icmp_type', 'icmp_code'] as const) {
    if (rule[field] !== undefined) issue(field, 'is not allowed with hosts');
  }
  if (rule.routes !== undefined && rule.protocol !== 'http') issue('routes', 'are only allowed for http');
  if (rule.protocol !== 'http' && rule.protocol !== 'https') {
    rule.hosts.forEach((host, index) => {
      if (isWildcardHost(host)) {
        ctx.addIssue({
          code: 'custom',
          path: ['hosts', index],
          message: 'must be an exact name (a wildcard cannot be resolved)',
        });
      }
    });
  }
});

/** The checked fields as the kind of rule they are (checkRuleKind has refused every other mix). */
function ruleOfKind(rule: RuleFields, issues: { push: (issue: z.core.$ZodRawIssue) => void }): GroupRuleDocument {
  const { protocol, ips, ports, hosts, destination } = rule;
  if (hosts === undefined && isAddressProtocol(protocol)) {
    return {
      protocol,
      ips,
      ports,
      ...(rule.icmp_type === undefined ? {} : { icmp_type: rule.icmp_type }),
      ...(rule.icmp_code === undefined ? {} : { icmp_code: rule.icmp_code }),
      ...(rule.log === undefined ? {} : { log: rule.log }),
    };
  }
  if (hosts !== undefined && destination !== undefined && isNameProtocol(protocol)) {
    return { protocol, ips, ports, hosts, destination, ...(rule.routes === undefined ? {} : { routes: rule.routes }) };
  }
  issues.push({ code: 'custom', message: 'is neither a rule by address nor one by host name', input: rule });
  return z.NEVER;
}

export const groupRuleDocumentSchema = z.pipe(
  ruleFieldsSchema.check(checkRuleKind),
  z.transform((rule: RuleFields, ctx) => ruleOfKind(rule, ctx.issues)),
);

/** A binding's target: '' for global, else an identifier (a GUID in practice). */
const bindingTarget = z.union([z.literal(''), identifierSchema], english);

export const securityGroupsSectionSchema = z
  .strictObject(
    {
      rules: z.array(groupRuleDocumentSchema, english),
      bindings: z.array(
        z.tuple(
          [
            z.enum(BINDING_SCOPES, english),
            z.enum(LIFECYCLES, english),
            bindingTarget,
            z.array(z.number(english).check(z.int(), z.gte(0)), english).check(z.minLength(1)),
          ],
          english,
        ),
        english,
      ),
    },
    english,
  )
  .check(
    z.superRefine((section, ctx) => {
      section.bindings.forEach(([scope, , target, indexes], index) => {
        if ((scope === 'global') !== (target === '')) {
          ctx.addIssue({
            code: 'custom',
            path: ['bindings', index, 2],
            message: 'global bindings, and only they, have no target',
          });
        }
        if (indexes.some((rule) => rule >= section.rules.length)) {
          ctx.addIssue({ code: 'custom', path: ['bindings', index, 3], message: 'points past the rules' });
        }
      });
    }),
  );

/** CF's icmp type 255 and -1 both mean any type; iptables reads 255 as "any" too. */
const icmpType = (type: number): number => (type === 255 ? ICMP_ANY : type);

function ruleDocument(rule: SecurityGroupRule): GroupRuleDocument {
  const ports = rule.ports === undefined ? [] : portRanges(rule.ports);
  const distinctPorts = [...new Map(ports.map((range) => [`${range.start}:${range.end}`, range])).values()];
  return {
    protocol: rule.protocol,
    ips: destinationRanges(rule.destination).map(({ start, end }) => ({ start, end })),
    ports: distinctPorts.map(({ start, end }) => ({ start, end })),
    ...(rule.protocol === 'icmp'
      ? { icmp_type: icmpType(rule.type ?? ICMP_ANY), icmp_code: rule.code ?? ICMP_ANY }
      : {}),
    ...(rule.log === true ? { log: true } : {}),
  };
}

/** Collects rules (each distinct one once) and bindings (their rules merged) into a section. */
class SectionBuilder {
  private readonly rules: GroupRuleDocument[] = [];
  private readonly indexByRule = new Map<string, number>();
  private readonly bindings = new Map<string, { binding: [BindingScope, Lifecycle, string]; rules: Set<number> }>();

  constructor(base: SecurityGroupsSection = EMPTY_GROUPS) {
    this.add(base);
  }

  /** Every rule and binding of `section`, its rules indexed here. */
  add(section: SecurityGroupsSection): void {
    const indexes = section.rules.map((rule) => this.rule(rule));
    for (const [scope, lifecycle, target, ruleIndexes] of section.bindings) {
      this.bind(
        scope,
        lifecycle,
        target,
        ruleIndexes.flatMap((index) => indexes[index] ?? []),
      );
    }
  }

  rule(document: GroupRuleDocument): number {
    const key = JSON.stringify(document);
    let index = this.indexByRule.get(key);
    if (index === undefined) {
      index = this.rules.push(document) - 1;
      this.indexByRule.set(key, index);
    }
    return index;
  }

  bind(scope: BindingScope, lifecycle: Lifecycle, target: string, indexes: readonly number[]): void {
    if (indexes.length === 0) return;
    const key = `${scope} ${lifecycle} ${target}`;
    const entry = this.bindings.get(key) ?? { binding: [scope, lifecycle, target], rules: new Set<number>() };
    for (const index of indexes) entry.rules.add(index);
    this.bindings.set(key, entry);
  }

  section(): SecurityGroupsSection {
    const sorted = [...this.bindings.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return {
      rules: this.rules,
      bindings: sorted.map(
        ([, { binding, rules: indexes }]) => [...binding, [...indexes].sort((a, b) => a - b)] as const,
      ),
    };
  }
}

/**
 * The section for these groups: each distinct rule once, and per (scope, lifecycle, target) the
 * rules of every group bound there, merged. A group without rules opens nothing and adds no binding.
 * `policies` are the egress policies the sources of a snapshot cannot carry (see bindPolicies).
 */
export function buildSecurityGroupsSection(
  groups: readonly SecurityGroup[],
  policies: readonly EgressPolicy[] = [],
): SecurityGroupsSection {
  const builder = new SectionBuilder();
  for (const group of groups) {
    const indexes = group.rules.map((rule) => builder.rule(ruleDocument(rule)));
    for (const lifecycle of LIFECYCLES) {
      if (group.globallyEnabled[lifecycle]) builder.bind('global', lifecycle, '', indexes);
      for (const space of group.bindings[lifecycle].space) builder.bind('space', lifecycle, space, indexes);
      for (const organization of group.bindings[lifecycle].organization) {
        builder.bind('organization', lifecycle, organization, indexes);
      }
    }
  }
  bindPolicies(builder, policies);
  return builder.section();
}

/** One section holding every rule and binding of these, each distinct rule once (bindings merged). */
export function mergeSecurityGroupsSections(sections: Iterable<SecurityGroupsSection>): SecurityGroupsSection {
  const builder = new SectionBuilder();
  for (const section of sections) builder.add(section);
  return builder.section();
}

/**
 * Egress policies that are for one lifecycle, or for every app (`default`), as bindings: cells
 * apply them by the container's lifecycle as they apply security groups. Other policies (an app or
 * a space, every lifecycle) stay what they were (isPlainPolicy).
 */
export function isPlainPolicy(policy: EgressPolicy): boolean {
  return policy.source.type !== 'default' && policy.app_lifecycle === undefined;
}

/**
 * A policy for one lifecycle or for every app as binding rules: its addresses (addressPart) as one
 * rule, and its host names (namePart) as a rule by host name naming the destination, so cells match
 * them as they do a plain policy's: tcp/udp exact names through the destination's host set, http and
 * https (wildcards and routes too) at the cell's proxy.
 */
function bindPolicies(builder: SectionBuilder, policies: readonly EgressPolicy[]): void {
  for (const policy of policies) {
    if (isPlainPolicy(policy)) continue;
    const indexes: number[] = [];
    const part = addressPart(policy.destination);
    if (part !== undefined) {
      indexes.push(
        builder.rule({
          protocol: part.protocol,
          ips: part.ips.map(({ start, end }) => ({ start, end })),
          ports: part.ports.map(({ start, end }) => ({ start, end })),
          ...(part.protocol === 'icmp'
            ? { icmp_type: part.icmp_type ?? ICMP_ANY, icmp_code: part.icmp_code ?? ICMP_ANY }
            : {}),
        }),
      );
    }
    const names = namePart(policy.destination);
    // tcp/udp names are resolved: a wildcard (which the API refuses for them) could not be.
    const layer7 = names?.protocol === 'http' || names?.protocol === 'https';
    const hosts = names?.hosts.filter((host) => layer7 || !isWildcardHost(host)) ?? [];
    if (names !== undefined && hosts.length > 0) {
      indexes.push(
        builder.rule({
          protocol: names.protocol,
          ips: [],
          ports: names.ports.map(({ start, end }) => ({ start, end })),
          hosts,
          destination: policy.destination.id,
          ...(names.routes === undefined || names.protocol !== 'http' ? {} : { routes: names.routes }),
        }),
      );
    }
    if (indexes.length === 0) continue;
    const scope: BindingScope = policy.source.type === 'default' ? 'global' : policy.source.type;
    const target = policy.source.type === 'default' ? '' : policy.source.id;
    const lifecycles = policy.app_lifecycle === undefined ? LIFECYCLES : [policy.app_lifecycle];
    for (const lifecycle of lifecycles) builder.bind(scope, lifecycle, target, indexes);
  }
}

/**
 * A policies list with the policies its plain lists cannot carry moved into its security groups
 * section (the agent's --policies file: the API's list body, maybe with a section).
 */
export function withPolicyBindings(list: PoliciesWithGroups): PoliciesWithGroups {
  if (list.egress_policies.every(isPlainPolicy)) return list;
  const builder = new SectionBuilder(list.security_groups);
  bindPolicies(builder, list.egress_policies);
  const plain = list.egress_policies.filter(isPlainPolicy);
  return { total_egress_policies: plain.length, egress_policies: plain, security_groups: builder.section() };
}

/**
 * What the agent plans from: the v1 policy list (GET /egress_policies' body) and, from a snapshot,
 * the security groups. A list read from a file has no groups.
 */
export type PoliciesWithGroups = EgressPolicyList & { readonly security_groups?: SecurityGroupsSection };
