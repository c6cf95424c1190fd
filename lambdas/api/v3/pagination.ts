// V3 list pagination as Cloud Controller does it: `page` from 1, `per_page` 1-5000 (default 50),
// `order_by` created_at or updated_at with an optional +/- (default: creation order), and the
// `pagination` object with absolute first/last/next/previous links that keep the list's filters.
import { ValidationError } from '../../../core/domain/errors.js';
import type { ApiRequest } from '../types.js';

const DEFAULT_PER_PAGE = 50;
const MAX_PER_PAGE = 5000;
const ORDER_FIELDS = ['created_at', 'updated_at'] as const;

export interface Pagination {
  readonly page: number;
  readonly perPage: number;
  readonly orderBy?: { readonly field: (typeof ORDER_FIELDS)[number]; readonly descending: boolean };
}

const positiveInteger = (value: string): number | undefined =>
  /^[1-9]\d{0,8}$/.test(value) ? Number(value) : undefined;

/** The pagination a request asks for; its problems are CF's list-message errors (422). */
export function paginationOf(request: ApiRequest, problems: string[]): Pagination {
  const { page: rawPage, per_page: rawPerPage, order_by: rawOrderBy } = request.query;
  let page = 1;
  let perPage = DEFAULT_PER_PAGE;
  if (rawPage !== undefined) {
    const parsed = positiveInteger(rawPage);
    if (parsed === undefined) problems.push('Page must be a positive integer');
    else page = parsed;
  }
  if (rawPerPage !== undefined) {
    const parsed = positiveInteger(rawPerPage);
    if (parsed === undefined) problems.push('Per page must be a positive integer');
    else if (parsed > MAX_PER_PAGE) problems.push(`Per page must be between 1 and ${MAX_PER_PAGE}`);
    else perPage = parsed;
  }
  let orderBy: Pagination['orderBy'];
  if (rawOrderBy !== undefined) {
    const match = /^([+-]?)(created_at|updated_at)$/.exec(rawOrderBy);
    const field = ORDER_FIELDS.find((candidate) => candidate === match?.[2]);
    if (!match || field === undefined) problems.push("Order by can only be: 'created_at', 'updated_at'");
    else orderBy = { field, descending: match[1] === '-' };
  }
  return { page, perPage, ...(orderBy ? { orderBy } : {}) };
}

export function throwIfAny(problems: readonly string[]): void {
  if (problems.length > 0) throw new ValidationError(problems.join(', '));
}

interface Ordered {
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly guid: string;
}

/**
 * One page of `items` (already filtered, in creation order) and CF's pagination object. Links keep
 * every query parameter of the request but `page`.
 */
export function paginate<T extends Ordered>(
  items: readonly T[],
  pagination: Pagination,
  request: ApiRequest,
  path: string,
) {
  const sorted = [...items];
  const { orderBy } = pagination;
  if (orderBy) {
    const key = orderBy.field === 'created_at' ? 'createdAt' : 'updatedAt';
    sorted.sort((a, b) => a[key].localeCompare(b[key]) || a.guid.localeCompare(b.guid));
    if (orderBy.descending) sorted.reverse();
  }
  const totalPages = Math.max(1, Math.ceil(sorted.length / pagination.perPage));
  const link = (page: number) => {
    const query = new URLSearchParams();
    for (const [name, value] of Object.entries(request.query)) {
      if (name !== 'page' && name !== 'per_page' && value !== undefined) query.set(name, value);
    }
    query.set('page', String(page));
    query.set('per_page', String(pagination.perPage));
    return { href: `${request.baseUrl}${path}?${query.toString()}` };
  };
  const start = (pagination.page - 1) * pagination.perPage;
  return {
    pagination: {
      total_results: sorted.length,
      total_pages: totalPages,
      first: link(1),
      last: link(totalPages),
      next: pagination.page < totalPages ? link(pagination.page + 1) : null,
      previous: pagination.page > 1 ? link(pagination.page - 1) : null,
    },
    page: sorted.slice(start, start + pagination.perPage),
  };
}
