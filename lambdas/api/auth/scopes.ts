// Scopes as issuers put them in tokens: `scope` (space-separated string or array, OAuth 2 / UAA /
// Cognito) or `scp` (Azure AD, Okta). API Gateway's HTTP API hands claims to Lambda as strings and
// renders an array claim as "[a b]", so that form is read too. The scope the API requires is
// REQUIRED_SCOPE in ../routes.ts.

function scopeList(value: unknown): string[] {
  if (Array.isArray(value)) return value.filter((item): item is string => typeof item === 'string');
  if (typeof value !== 'string') return [];
  const trimmed = value.trim();
  const inner = trimmed.startsWith('[') && trimmed.endsWith(']') ? trimmed.slice(1, -1) : trimmed;
  // Spaces only: OAuth scope strings and API Gateway's "[a b]" separate by spaces, and a comma inside
  // one array element ("x,network.admin") must not become a second scope.
  return inner.split(/\s+/).filter((scope) => scope.length > 0);
}

export function scopesOf(claims: Readonly<Record<string, unknown>>): Set<string> {
  return new Set([...scopeList(claims.scope), ...scopeList(claims.scp)]);
}
