// The addresses an `ipset list <set>` shows, sorted: each member line's first word (host-set members
// carry a timeout after it).
export function listedMembers(listing: string): string[] {
  return (
    listing
      .split('Members:\n')[1]
      ?.split('\n')
      .filter(Boolean)
      .map((line) => line.split(' ')[0] ?? '')
      .sort() ?? []
  );
}
