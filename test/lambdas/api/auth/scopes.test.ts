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
    [{ scope: 'x,network.admin' }, false], // one scope with a comma in it, not two
    [{ scope: '[x,network.admin]' }, false], // API Gateway's rendering of ["x,network.admin"]
    [{ scope: ['x,network.admin'] }, false],
    [{ scope: 'network.write' }, false],
    [{ scope: 42 }, false],
    [{}, false],
  ])('reads %j', (claims, admin) => {
    expect(scopesOf(claims).has('network.admin')).toBe(admin);
  });
});
