// A ProxyProcess for the proxy step's unit tests: every operation throws unless the test gives it.
import type { ProxyProcess } from '../../../agent/proxy/haproxy-process.js';
import { proxyPaths } from '../../../agent/proxy/haproxy-process.js';

const notUsed = async (): Promise<never> => {
  throw new Error('not expected');
};

export function fakeProxyProcess(dir: string, given: Partial<Omit<ProxyProcess, 'paths'>>): ProxyProcess {
  return {
    paths: proxyPaths(dir),
    check: notUsed,
    start: notUsed,
    reload: notUsed,
    apply: notUsed,
    stop: notUsed,
    status: notUsed,
    ...given,
  };
}
