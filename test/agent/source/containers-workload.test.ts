import { describe, expect, it } from 'vitest';
import { parseContainers, parsePolicies } from '../../../agent/source/files.js';
import { containerStore, policyList } from '../fixtures.js';

const one = (metadata: Record<string, unknown>) =>
  JSON.stringify({ h1: { handle: 'h1', ip: '10.255.1.2', metadata: { app_id: 'a', space_id: 's', ...metadata } } });

describe('container store: org_id and container_workload', () => {
  it.each([
    ['app', 'running'],
    ['task', 'running'],
    ['staging', 'staging'],
  ])('a %s container runs in the %s lifecycle', (workload, lifecycle) => {
    expect(parseContainers(one({ container_workload: workload, org_id: 'o-1' }))).toEqual([
      { ip: '10.255.1.2', appId: 'a', spaceId: 's', orgId: 'o-1', lifecycle },
    ]);
  });

  it('takes a container without workload or organisation as a running app of no organisation', () => {
    expect(parseContainers(one({}))).toEqual([{ ip: '10.255.1.2', appId: 'a', spaceId: 's', lifecycle: 'running' }]);
    const store = containerStore([{ ip: '10.255.1.3', appId: 'a', spaceId: 's', orgId: null, workload: null }]);
    expect(parseContainers(JSON.stringify(store))).toEqual([
      { ip: '10.255.1.3', appId: 'a', spaceId: 's', lifecycle: 'running' },
    ]);
  });

  it.each([
    [{ container_workload: 'build' }, /"?h1"?\.metadata\.container_workload: must be one of app, task, staging/],
    [{ container_workload: 'STAGING' }, /h1"?\.metadata\.container_workload: must be one of app, task, staging/],
    [{ container_workload: 1 }, /h1"?\.metadata\.container_workload: must be one of app, task, staging/],
    [{ container_workload: null }, /h1"?\.metadata\.container_workload: must be one of app, task, staging/],
    [{ org_id: 'o -j ACCEPT' }, /h1"?\.metadata\.org_id: must be 1-128 characters/],
    [{ org_id: '' }, /h1"?\.metadata\.org_id: must be 1-128 characters/],
  ])('refuses %j, naming the entry', (metadata, message) => {
    expect(() => parseContainers(one(metadata))).toThrow(message);
  });
});

describe('policies file: security_groups', () => {
  const list = policyList([]);
  const section = {
    rules: [{ protocol: 'all', ips: [{ start: '1.1.1.1', end: '1.1.1.2' }], ports: [] }],
    bindings: [['global', 'running', '', [0]]],
  };

  it('keeps a valid section beside the v1 list, and a file without one has none', () => {
    expect(parsePolicies(JSON.stringify({ ...list, security_groups: section }))).toEqual({
      ...list,
      security_groups: section,
    });
    expect(parsePolicies(JSON.stringify(list))).toEqual(list);
  });

  it.each([
    [
      { ...section, bindings: [['global', 'running', '', [1]]] },
      /security_groups\.bindings\[0\]\[3\]: points past the rules/,
    ],
    [
      { ...section, bindings: [['space', 'running', '', [0]]] },
      /security_groups\.bindings\[0\]\[2\]: global bindings, and only they/,
    ],
    [{ ...section, bindings: [['global', 'building', '', [0]]] }, /security_groups\.bindings\[0\]\[1\]/],
    [{ ...section, extra: 1 }, /security_groups/],
    [
      { rules: [{ protocol: 'gre', ips: [{ start: '1.1.1.1', end: '1.1.1.1' }], ports: [] }], bindings: [] },
      /security_groups\.rules\[0\]\.protocol/,
    ],
  ])('refuses a bad section %#, naming the field', (bad, message) => {
    expect(() => parsePolicies(JSON.stringify({ ...list, security_groups: bad }), '--policies')).toThrow(message);
  });
});
