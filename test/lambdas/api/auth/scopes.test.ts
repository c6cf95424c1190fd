import { describe, expect, it } from 'vitest';
import { scopesOf } from '../../../../lambdas/api/auth/scopes.js';

describe('scopesOf', () => {
  it.each([
    [{ scope: 'openid network.admin' }, true],
    [{ scope: ['openid', 'network.admin'] }, true],
    [{ scp: 'network.admin' }, true],
    [{ scp: ['network.admin'] }, true],
    [{ scope: '[openid network.admin]' }, true], // API Gateway's rendering of an array claim
    [{ scope: 'network.admin.read' }, false],
    [{ scope: 'network.write' }, false],
    [{ scope: 42 }, false],
    [{}, false],
  ])('reads %j', (claims, admin) => {
    expect(scopesOf(claims).has('network.admin')).toBe(admin);
  });
});
