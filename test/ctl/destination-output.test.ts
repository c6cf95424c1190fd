// How egressctl prints destinations and policies with host names and routes; classic ones as before.
import { describe, expect, it } from 'vitest';
import type { Destination, Policy } from '../../ctl/answers.js';
import { destinationTable } from '../../ctl/commands/destinations.js';
import { policyTable } from '../../ctl/commands/policies.js';

const classic: Destination = {
  id: 'd1',
  name: 'MySQL',
  ips: [{ start: '23.96.35.235', end: '23.96.35.235' }],
  ports: [{ start: 3306, end: 3306 }],
  protocol: 'tcp',
};
const httpbin: Destination = {
  id: 'd2',
  name: 'httpbin',
  ips: [],
  hosts: ['httpbin.org', '*.example.org'],
  ports: [{ start: 80, end: 80 }],
  protocol: 'http',
  routes: [{ methods: ['GET', 'HEAD'], path_regex: '^/status.*', headers: { 'x-api-key': 'secret' } }, {}],
};

describe('destination tables', () => {
  it('prints classic destinations with the columns they always had', () => {
    expect(destinationTable([classic]).split('\n')[0]).toMatch(/^ID +NAME +PROTOCOL +IPS +PORTS +DESCRIPTION$/);
  });

  it('adds HOSTS and ROUTES when a destination has them, routes without header values', () => {
    const [header, first, second] = destinationTable([classic, httpbin]).split('\n');
    expect(header).toMatch(/^ID +NAME +PROTOCOL +IPS +HOSTS +PORTS +ROUTES +DESCRIPTION$/);
    expect(first).toMatch(/^d1 +MySQL +tcp +23\.96\.35\.235 +3306 *$/);
    expect(second).toContain('httpbin.org,*.example.org');
    expect(second).toContain('GET|HEAD ^/status.* [x-api-key]; any /');
    expect(second).not.toContain('secret');
  });

  it('adds HOSTS to the policies table when a destination has them', () => {
    const policy = (destination: Destination): Policy => ({ id: 'p', source: { type: 'app', id: 'a' }, destination });
    expect(policyTable([policy(classic)]).split('\n')[0]).not.toContain('HOSTS');
    expect(policyTable([policy(httpbin)]).split('\n')[0]).toMatch(/ IPS +HOSTS +PORTS$/);
  });
});
