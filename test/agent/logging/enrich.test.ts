// ulogd's JSON records (as ulogd 2.0.8 prints them with the stack of ulogd-config.ts) → CF
// iptables-logger-shaped lines with the source container's identity.
import { describe, expect, it } from 'vitest';
import { enrichRecord, type Identities, parseIdentities } from '../../../agent/logging/enrich.js';
import { ULOGD_ICMP, ULOGD_TCP, ULOGD_UDP } from './ulogd-records.js';

const identities: Identities = new Map([
  ['10.255.1.2', { handle: 'handle-1', appGuid: 'app-1', spaceGuid: 'space-1', orgGuid: 'org-1' }],
]);
const now = () => new Date('2030-01-01T00:00:00.000Z');

describe('enrichRecord', () => {
  it('turns a refused TCP connection into an egress-denied line with the container identity', () => {
    expect(enrichRecord(ULOGD_TCP, identities, now)).toEqual({
      kind: 'line',
      line: {
        timestamp: '2026-12-03T23:10:23.293Z',
        source: 'dynamic-egress',
        message: 'dynamic-egress.egress-denied',
        log_level: 1,
        data: {
          packet: {
            direction: 'egress',
            allowed: false,
            src_ip: '10.255.1.2',
            src_port: 49940,
            dst_ip: '198.51.100.10',
            dst_port: 81,
            protocol: 'TCP',
            icmp_type: 0,
            icmp_code: 0,
          },
          source: {
            container_id: 'handle-1',
            app_guid: 'app-1',
            space_guid: 'space-1',
            organization_guid: 'org-1',
          },
        },
      },
    });
  });

  it('gives UDP its ports and ICMP its type and code (ports 0), as CF does', () => {
    const udp = enrichRecord(ULOGD_UDP, identities, now);
    expect(udp.kind === 'line' && udp.line.data.packet).toMatchObject({
      protocol: 'UDP',
      src_port: 57768,
      dst_port: 53,
      icmp_type: 0,
      icmp_code: 0,
    });
    const icmp = enrichRecord(ULOGD_ICMP, identities, now);
    expect(icmp.kind === 'line' && icmp.line.data.packet).toMatchObject({
      protocol: 'ICMP',
      src_port: 0,
      dst_port: 0,
      icmp_type: 8,
      icmp_code: 0,
    });
  });

  it('leaves the identity empty for a source the containers file does not list', () => {
    const result = enrichRecord(ULOGD_ICMP, identities, now);
    expect(result.kind === 'line' && result.line.data.source).toEqual({
      container_id: '',
      app_guid: '',
      space_guid: '',
      organization_guid: '',
    });
  });

  it('uses the time of the kernel, else now', () => {
    const withoutTime = JSON.stringify({ ...JSON.parse(ULOGD_TCP), 'oob.time.sec': undefined });
    const result = enrichRecord(withoutTime, identities, now);
    expect(result.kind === 'line' && result.line.timestamp).toBe('2030-01-01T00:00:00.000Z');
  });

  it('skips records of another prefix', () => {
    const other = ULOGD_TCP.replace('"dyneg-denied"', '"operator-audit"');
    expect(enrichRecord(other, identities, now)).toEqual({ kind: 'other-prefix', prefix: 'operator-audit' });
    expect(enrichRecord(ULOGD_TCP.replace('"dyneg-denied"', '"__proto__"'), identities, now).kind).toBe('other-prefix');
  });

  it.each([
    ['not JSON', '{"timestamp": '],
    ['empty object', '{}'],
    ['an array', '[1]'],
    ['null', 'null'],
    ['a bad source address', ULOGD_TCP.replace('"10.255.1.2"', '"10.255.1.999"')],
    ['a missing destination', ULOGD_TCP.replace('"dest_ip": "198.51.100.10"', '"x": 1')],
    ['a port out of range', ULOGD_TCP.replace('"dest_port": 81', '"dest_port": 70000')],
    ['a protocol that is a string', ULOGD_TCP.replace('"ip.protocol": 6', '"ip.protocol": "6"')],
    ['a prefix that is a number', ULOGD_TCP.replace('"oob.prefix": "dyneg-denied"', '"oob.prefix": 7')],
  ])('counts %s as unparseable', (_name, text) => {
    expect(enrichRecord(text, identities, now)).toEqual({ kind: 'unparseable' });
  });

  it('never throws on random mutations of a real record', () => {
    let seed = 7;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let i = 0; i < 2000; i += 1) {
      const chars = [...ULOGD_TCP];
      for (let j = 0; j < 3; j += 1)
        chars[Math.floor(random() * chars.length)] = String.fromCharCode(32 + Math.floor(random() * 95));
      const result = enrichRecord(chars.join(''), identities, now);
      expect(['line', 'unparseable', 'other-prefix']).toContain(result.kind);
    }
  });
});

describe('parseIdentities', () => {
  it('maps each entry of the store by its IP, org included', () => {
    const text =
      '{"handle-1": {"handle": "handle-1", "ip": "10.255.1.2", "metadata": {"app_id": "a", "space_id": "s", "org_id": "o"}},' +
      ' "__proto__": {"handle": "__proto__", "ip": "10.255.1.3", "metadata": {"app_id": "b", "space_id": "s"}}}';
    const { identities: parsed, skipped } = parseIdentities(text);
    expect(skipped).toBe(0);
    expect(parsed.get('10.255.1.2')).toEqual({ handle: 'handle-1', appGuid: 'a', spaceGuid: 's', orgGuid: 'o' });
    expect(parsed.get('10.255.1.3')).toEqual({ handle: '__proto__', appGuid: 'b', spaceGuid: 's', orgGuid: '' });
  });

  it('skips entries that do not decode, and refuses text that is no object', () => {
    const text = JSON.stringify({ a: { handle: 'a', ip: 'nope' }, b: 7, c: { handle: 'c', ip: '10.255.1.4' } });
    const { identities: parsed, skipped } = parseIdentities(text);
    expect(skipped).toBe(2);
    expect([...parsed.keys()]).toEqual(['10.255.1.4']);
    expect(() => parseIdentities('[]')).toThrow('not a JSON object');
    expect(() => parseIdentities('{')).toThrow();
  });
});
