import type Database from 'better-sqlite3';
import { activeListFilter, type PageWindow } from '../records.ts';
import type { Page } from '../types.ts';
import { GroupCommit } from './group-commit.ts';

/**
 * Prepared statements, compiled once per SQL text and connection. Every statement that writes
 * and every write() joins the turn's group commit and counts itself in `writes`.
 */
export class SqlRunner {
  private readonly statements = new Map<string, Database.Statement>();
  readonly group: GroupCommit;
  /** Write calls so far: a store call that changed it must wait for the group's commit. */
  writes = 0;

  constructor(readonly db: Database.Database) {
    this.group = new GroupCommit(db);
  }

  statement(sql: string): Database.Statement {
    let prepared = this.statements.get(sql);
    if (!prepared) {
      prepared = this.db.prepare(sql);
      this.statements.set(sql, prepared);
    }
    return prepared;
  }

  get<Row>(sql: string, ...parameters: unknown[]): Row | undefined {
    return this.forExecution(sql).get(...parameters) as Row | undefined;
  }

  all<Row>(sql: string, ...parameters: unknown[]): Row[] {
    return this.forExecution(sql).all(...parameters) as Row[];
  }

  run(sql: string, ...parameters: unknown[]): Database.RunResult {
    return this.forExecution(sql).run(...parameters);
  }

  /** The prepared statement; one that writes (INSERT … RETURNING read with get() too) joins the group first. */
  private forExecution(sql: string): Database.Statement {
    const statement = this.statement(sql);
    if (!statement.readonly) {
      this.writes += 1;
      this.group.begin();
    }
    return statement;
  }

  /**
   * A write transaction: a savepoint inside the turn's group transaction, so a read-check-write
   * sequence applies whole or not at all. The group's BEGIN IMMEDIATE takes the write lock up
   * front, so it waits (busy_timeout) for another process instead of failing when that process
   * commits first.
   */
  write<T>(work: () => T): T {
    this.writes += 1;
    this.group.begin();
    return this.db.transaction(work)();
  }

  /** A read transaction: the count and the page come from one snapshot. */
  read<T>(work: () => T): T {
    return this.db.transaction(work).deferred();
  }
}

/**
 * WHERE conditions built from optional filters. Column names come from code, never from input;
 * values are always bound parameters.
 */
export class Conditions {
  private readonly clauses: string[] = [];
  readonly parameters: unknown[] = [];

  equal(column: string, value: string | number | undefined): this {
    if (value !== undefined) this.add(`${column} = ?`, value);
    return this;
  }

  /** A list of any length binds as one JSON parameter; an empty or absent list does not filter. */
  oneOf(column: string, values: readonly (string | number)[] | undefined): this {
    const list = activeListFilter(values);
    if (list) this.add(`${column} IN (SELECT value FROM json_each(?))`, JSON.stringify(list));
    return this;
  }

  atLeast(column: string, value: number | undefined): this {
    if (value !== undefined) this.add(`${column} >= ?`, value);
    return this;
  }

  atMost(column: string, value: number | undefined): this {
    if (value !== undefined) this.add(`${column} <= ?`, value);
    return this;
  }

  below(column: string, value: number | undefined): this {
    if (value !== undefined) this.add(`${column} < ?`, value);
    return this;
  }

  /** Rows whose JSON array in `column` has `value` as one of its elements. */
  holds(column: string, value: string | undefined): this {
    if (value !== undefined) this.add(`EXISTS (SELECT 1 FROM json_each(${column}) WHERE json_each.value = ?)`, value);
    return this;
  }

  /** A condition written out in code, with no parameter (undefined: none). */
  fixed(clause: string | undefined): this {
    if (clause !== undefined) this.clauses.push(`(${clause})`);
    return this;
  }

  get where(): string {
    return this.clauses.length > 0 ? ` WHERE ${this.clauses.join(' AND ')}` : '';
  }

  private add(clause: string, value: unknown): void {
    this.clauses.push(clause);
    this.parameters.push(value);
  }
}

/** One page of `table` plus the total of all matching rows, read from one snapshot. */
export function selectPage<Row, Item>(
  sql: SqlRunner,
  table: string,
  conditions: Conditions,
  orderBy: string,
  window: PageWindow,
  fromRow: (row: Row) => Item,
): Page<Item> {
  return sql.read(() => {
    const { total } = sql.get<{ total: number }>(`SELECT count(*) AS total FROM ${table}${conditions.where}`, ...conditions.parameters) ?? {
      total: 0,
    };
    const rows =
      window.limit === 0
        ? []
        : sql.all<Row>(`SELECT * FROM ${table}${conditions.where} ORDER BY ${orderBy} LIMIT ? OFFSET ?`, ...conditions.parameters, window.limit, window.offset);
    return { items: rows.map(fromRow), total, offset: window.offset, limit: window.limit };
  });
}
