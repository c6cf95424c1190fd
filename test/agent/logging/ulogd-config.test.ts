// The ulogd configuration for one NFLOG group: the stack, the group, the JSON file, and no way for a
// path to smuggle configuration in.
import { describe, expect, it } from 'vitest';
import { configValueProblem, renderUlogdConfig } from '../../../agent/logging/ulogd-config.js';

describe('renderUlogdConfig', () => {
  it('reads the group through NFLOG → BASE → IP2STR → JSON into the file, flushing every packet', () => {
    const text = renderUlogdConfig({ group: 100, output: '/var/log/dynamic-egress/ulogd.json' });
    const lines = text.split('\n').filter((line) => line !== '' && !line.startsWith('#'));
    expect(lines).toEqual([
      '[global]',
      'logfile="syslog"',
      'loglevel=3',
      'plugin="/usr/lib/x86_64-linux-gnu/ulogd/ulogd_inppkt_NFLOG.so"',
      'plugin="/usr/lib/x86_64-linux-gnu/ulogd/ulogd_raw2packet_BASE.so"',
      'plugin="/usr/lib/x86_64-linux-gnu/ulogd/ulogd_filter_IP2STR.so"',
      'plugin="/usr/lib/x86_64-linux-gnu/ulogd/ulogd_output_JSON.so"',
      'stack=log1:NFLOG,base1:BASE,ip2str1:IP2STR,json1:JSON',
      '[log1]',
      'group=100',
      'netlink_qthreshold=1',
      '[json1]',
      'file="/var/log/dynamic-egress/ulogd.json"',
      'sync=1',
    ]);
  });

  it('takes the group, the plugin directory and the log file', () => {
    const text = renderUlogdConfig({ group: 7, output: '/o.json', pluginDir: '/opt/ulogd/', logfile: '/l.log' });
    expect(text).toContain('\ngroup=7\n');
    expect(text).toContain('\nplugin="/opt/ulogd/ulogd_output_JSON.so"\n');
    expect(text).toContain('\nlogfile="/l.log"\n');
  });

  it.each([0, 65536, 1.5, -1])('fails on group %s', (group) => {
    expect(() => renderUlogdConfig({ group, output: '/o.json' })).toThrow('group must be an NFLOG group');
  });

  it.each(['', 'a"b', 'a\\b', 'a\nstack=evil', 'a\rb', 'a\u0000b', 'x'.repeat(256)])('fails on the path %j', (path) => {
    expect(configValueProblem(path)).toBeDefined();
    expect(() => renderUlogdConfig({ group: 1, output: path })).toThrow('ulogd config: output');
    // An empty plugin directory is the root: its plugin paths are still whole values.
    if (path !== '') {
      expect(() => renderUlogdConfig({ group: 1, output: '/o', pluginDir: path })).toThrow('ulogd config: plugin dir');
    }
  });
});
