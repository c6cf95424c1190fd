// Security groups as cells get them in a snapshot: every distinct rule once, parsed into the address
// and port ranges the agent enforces, and one binding per (scope, lifecycle, target) listing the
// rules of every group bound there, merged and deduplicated. Cells need neither group names nor
// guids: a container's rules follow from its space, its organisation and its lifecycle.
import * as z from 'zod/mini';
import { addressPart, namePart } from './destination-parts.js';
import { hostNameProblem, isWildcardHost } from './host-names.js';
import { ICMP_ANY, identifierSchema, ipRangeSchema, portRangeSchema } from './schemas.js';
import { LIFECYCLES, type Lifecycle, type SecurityGroup, type SecurityGroupRule } from './security-group.js';
import { destinationRanges, portRanges } from './security-group-rules.js';
import type { EgressPolicy, EgressPolicyList } from './types.js';
import { zodEnglish } from './validation.js';

export const GROUP_RULE_PROTOCOLS = ['tcp', 'udp', 'icmp', 'all'] as const;
export type GroupRuleProtocol = (typeof GROUP_RULE_PROTOCOLS)[number];

/**
 * Where a binding applies: every container of the lifecycle, an app's (egress policies for one
 * lifecycle), a space's, or an organisation's.
 */
export const BINDING_SCOPES = ['global', 'app', 'space', 'organization'] as const;
export type BindingScope = (typeof BINDING_SCOPES)[number];

/**
 * One rule as cells enforce it. `ips` are inclusive ranges; `ports` (tcp, udp) ranges; icmp
 * `icmp_type`/`icmp_code` with -1 for any (CF's type 255 is stored as -1: iptables reads 255 as
 * "any type" too). `all` matches every protocol to those addresses.
 */
export interface GroupRuleDocument {
  readonly protocol: GroupRuleProtocol;
  /** Empty only in a rule by host name (`hosts`). */
  readonly ips: readonly { readonly start: string; readonly end: string }[];
  readonly ports: readonly { readonly start: number; readonly end: number }[];
  readonly icmp_type?: number;
  readonly icmp_code?: number;
  readonly log?: boolean;
  /**
   * A rule by host name (tcp or udp, `ips` empty): the exact names of a v1 destination whose policy
   * travels as a binding (bindPolicies). Cells match the host set of `destination` (its id), which
   * they keep at the names' current addresses (core/plan/name-enforcement.ts); explain plans
   * without them. Security groups never have one.
   */
  readonly hosts?: readonly string[];
  readonly destination?: string;
}

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

const exactHostSchema = z.string(english).check(
  z.superRefine((value, context) => {
    const problem = isWildcardHost(value)
      ? 'must be an exact name (a wildcard cannot be resolved)'
      : hostNameProblem(value);
    if (problem !== undefined) context.issues.push({ code: 'custom', message: problem, input: value });
  }),
);

export const groupRuleDocumentSchema = z
  .strictObject(
    {
      protocol: z.enum(GROUP_RULE_PROTOCOLS, english),
      ips: z.array(ipRangeSchema, english).check(z.maxLength(MAX_GROUP_RULE_RANGES)),
      ports: z.array(portRangeSchema, english).check(z.maxLength(65535)),
      icmp_type: z.optional(icmpValue()),
      icmp_code: z.optional(icmpValue()),
      log: z.optional(z.boolean(english)),
      hosts: z.optional(z.array(exactHostSchema, english).check(z.minLength(1), z.maxLength(MAX_GROUP_RULE_HOSTS))),
      destination: z.optional(identifierSchema),
    },
    english,
  )
  .check(
    z.superRefine((rule, ctx) => {
      const issue = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
      if (rule.hosts === undefined) {
        if (rule.ips.length === 0) issue('ips', 'must hold at least one range');
        if (rule.destination !== undefined) issue('destination', 'is only allowed with hosts');
        return;
      }
      if (rule.protocol !== 'tcp' && rule.protocol !== 'udp') issue('hosts', 'are only allowed for tcp and udp');
      if (rule.ips.length > 0) issue('ips', 'must be empty in a rule by host name');
      if (rule.destination === undefined) issue('destination', 'is required with hosts');
      if (rule.log !== undefined) issue('log', 'is not allowed with hosts');
    }),
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
 * rule, and its tcp/udp exact host names as a rule by host name (GroupRuleDocument.hosts) naming
 * the destination, so cells match its host set as they do a plain policy's. Wildcards and http/https
 * names are not carried (nothing enforces them yet, name-enforcement.ts): they allow nothing.
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
    const exact = names?.hosts.filter((host) => !isWildcardHost(host)) ?? [];
    if (names !== undefined && (names.protocol === 'tcp' || names.protocol === 'udp') && exact.length > 0) {
      indexes.push(
        builder.rule({
          protocol: names.protocol,
          ips: [],
          ports: names.ports.map(({ start, end }) => ({ start, end })),
          hosts: [...exact],
          destination: policy.destination.id,
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
