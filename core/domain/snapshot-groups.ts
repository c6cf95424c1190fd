// Security groups as cells get them in a snapshot: every distinct rule once, parsed into the address
// and port ranges the agent enforces, and one binding per (scope, lifecycle, target) listing the
// rules of every group bound there, merged and deduplicated. Cells need neither group names nor
// guids: a container's rules follow from its space, its organisation and its lifecycle.
import * as z from 'zod/mini';
import { ICMP_ANY, identifierSchema, ipRangeSchema, portRangeSchema } from './schemas.js';
import { LIFECYCLES, type Lifecycle, type SecurityGroup, type SecurityGroupRule } from './security-group.js';
import { destinationRanges, portRanges } from './security-group-rules.js';
import type { EgressPolicyList } from './types.js';
import { zodEnglish } from './validation.js';

export const GROUP_RULE_PROTOCOLS = ['tcp', 'udp', 'icmp', 'all'] as const;
export type GroupRuleProtocol = (typeof GROUP_RULE_PROTOCOLS)[number];

/** Where a binding applies: every container of the lifecycle, a space's, or an organisation's. */
export const BINDING_SCOPES = ['global', 'space', 'organization'] as const;
export type BindingScope = (typeof BINDING_SCOPES)[number];

/**
 * One rule as cells enforce it. `ips` are inclusive ranges; `ports` (tcp, udp) ranges; icmp
 * `icmp_type`/`icmp_code` with -1 for any (CF's type 255 is stored as -1: iptables reads 255 as
 * "any type" too). `all` matches every protocol to those addresses.
 */
export interface GroupRuleDocument {
  readonly protocol: GroupRuleProtocol;
  readonly ips: readonly { readonly start: string; readonly end: string }[];
  readonly ports: readonly { readonly start: number; readonly end: number }[];
  readonly icmp_type?: number;
  readonly icmp_code?: number;
  readonly log?: boolean;
}

/** [scope, lifecycle, target guid ('' for global), indexes into rules]. */
export type GroupBinding = readonly [BindingScope, Lifecycle, string, readonly number[]];

export interface SecurityGroupsSection {
  readonly rules: readonly GroupRuleDocument[];
  readonly bindings: readonly GroupBinding[];
}

export const EMPTY_GROUPS: SecurityGroupsSection = { rules: [], bindings: [] };

const english = { error: zodEnglish };
const icmpValue = () => z.number(english).check(z.int(), z.gte(ICMP_ANY), z.lte(255));

export const groupRuleDocumentSchema = z.strictObject(
  {
    protocol: z.enum(GROUP_RULE_PROTOCOLS, english),
    ips: z.array(ipRangeSchema, english).check(z.minLength(1), z.maxLength(6000)),
    ports: z.array(portRangeSchema, english).check(z.maxLength(65535)),
    icmp_type: z.optional(icmpValue()),
    icmp_code: z.optional(icmpValue()),
    log: z.optional(z.boolean(english)),
  },
  english,
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

/**
 * The section for these groups: each distinct rule once, and per (scope, lifecycle, target) the
 * rules of every group bound there, merged. A group without rules opens nothing and adds no binding.
 */
export function buildSecurityGroupsSection(groups: readonly SecurityGroup[]): SecurityGroupsSection {
  const rules: GroupRuleDocument[] = [];
  const indexByRule = new Map<string, number>();
  const bindings = new Map<string, { binding: [BindingScope, Lifecycle, string]; rules: Set<number> }>();
  for (const group of groups) {
    const indexes = group.rules.map((rule) => {
      const document = ruleDocument(rule);
      const key = JSON.stringify(document);
      let index = indexByRule.get(key);
      if (index === undefined) {
        index = rules.push(document) - 1;
        indexByRule.set(key, index);
      }
      return index;
    });
    if (indexes.length === 0) continue;
    const bind = (scope: BindingScope, lifecycle: Lifecycle, target: string): void => {
      const key = `${scope} ${lifecycle} ${target}`;
      const entry = bindings.get(key) ?? { binding: [scope, lifecycle, target], rules: new Set<number>() };
      for (const index of indexes) entry.rules.add(index);
      bindings.set(key, entry);
    };
    for (const lifecycle of LIFECYCLES) {
      if (group.globallyEnabled[lifecycle]) bind('global', lifecycle, '');
      for (const space of group.bindings[lifecycle].space) bind('space', lifecycle, space);
      for (const organization of group.bindings[lifecycle].organization) bind('organization', lifecycle, organization);
    }
  }
  const sorted = [...bindings.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return {
    rules,
    bindings: sorted.map(
      ([, { binding, rules: indexes }]) => [...binding, [...indexes].sort((a, b) => a - b)] as const,
    ),
  };
}

/**
 * What the agent plans from: the v1 policy list (GET /egress_policies' body) and, from a snapshot,
 * the security groups. A list read from a file has no groups.
 */
export type PoliciesWithGroups = EgressPolicyList & { readonly security_groups?: SecurityGroupsSection };
