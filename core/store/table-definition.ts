// The table's key schema, shared by the CDK store construct and local mode so both create the same table.
export const PARTITION_KEY = 'pk';
export const SORT_KEY = 'sk';
export const DEFAULT_TABLE_NAME = 'dynamic-egress';
