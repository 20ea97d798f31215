import pg from 'pg';

/**
 * Fingerprints of the tables a request could change, to prove that refused requests changed nothing: each table's row
 * count and the md5 of all its rows in id order. Sequences are left out (a refused insert may use up an id, which
 * §12.2 allows: ids are ascending and never reused, not gapless), and so are `server_keys` (keys are created lazily
 * on first use) and the migrations table.
 */
export const WATCHED_TABLES = [
  'users',
  'things',
  'flattrs',
  'subscriptions',
  'thing_flattr_days',
  'oauth_clients',
  'oauth_access_tokens',
  'oauth_authorization_codes',
  'web_sessions',
] as const;

export type TableName = (typeof WATCHED_TABLES)[number];
export type DbState = Record<TableName, string>;

function orderOf(table: TableName): string {
  return table === 'thing_flattr_days' ? 't.thing_id, t.day' : 't.id';
}

const STATE_SQL = `select ${WATCHED_TABLES.map(
  (table) => `(select count(*) || ':' || coalesce(md5(string_agg(t::text, '|' order by ${orderOf(table)})), '') from ${table} t) as ${table}`,
).join(', ')}`;

export class DbWatcher {
  private constructor(private readonly client: pg.Client) {}

  static async connect(databaseUrl: string): Promise<DbWatcher> {
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    return new DbWatcher(client);
  }

  async state(): Promise<DbState> {
    const { rows } = await this.client.query(STATE_SQL);
    return rows[0] as DbState;
  }

  /** The tables whose fingerprint differs. */
  static changed(before: DbState, after: DbState, ignore: TableName[] = []): TableName[] {
    return WATCHED_TABLES.filter((t) => !ignore.includes(t) && before[t] !== after[t]);
  }

  /**
   * The invariants the database triggers maintain, which no request may break (spec §12.2 counters): every thing's
   * flattrs_count, flattrs_user_count and last_flattr_at equal what its flattr rows say, and the per-day counts add up.
   * Returns a description of each violation (empty when consistent).
   */
  async counterViolations(): Promise<string[]> {
    const { rows } = await this.client.query(`
      select t.id, t.flattrs_count, t.flattrs_user_count, t.last_flattr_at,
             coalesce(f.n, 0) as rows, coalesce(f.users, 0) as users, f.last,
             coalesce(d.total, 0) as day_total
        from things t
        left join (select thing_id, count(*)::int as n, count(distinct user_id)::int as users, max(created_at) as last
                     from flattrs group by thing_id) f on f.thing_id = t.id
        left join (select thing_id, sum(flattrs)::int as total from thing_flattr_days group by thing_id) d on d.thing_id = t.id
       where t.flattrs_count <> coalesce(f.n, 0)
          or t.flattrs_user_count <> coalesce(f.users, 0)
          or t.last_flattr_at is distinct from f.last
          or coalesce(d.total, 0) <> coalesce(f.n, 0)`);
    const orphans = await this.client.query(`
      select 'flattr ' || f.id || ' of missing user/thing' as problem from flattrs f
        left join things t on t.id = f.thing_id left join users u on u.id = f.user_id where t.id is null or u.id is null
      union all
      select 'duplicate flattr ' || user_id || '/' || thing_id || '/' || period from flattrs group by user_id, thing_id, period having count(*) > 1`);
    return [
      ...rows.map((r) => `thing ${r.id}: counters ${r.flattrs_count}/${r.flattrs_user_count}/${r.last_flattr_at} but rows ${r.rows}/${r.users}/${r.last}, days ${r.day_total}`),
      ...orphans.rows.map((r) => String(r.problem)),
    ];
  }

  query(sql: string, params: unknown[] = []) {
    return this.client.query(sql, params);
  }

  async close(): Promise<void> {
    await this.client.end();
  }
}
