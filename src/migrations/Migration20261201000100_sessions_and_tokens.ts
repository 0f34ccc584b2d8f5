import { Migration } from '@mikro-orm/migrations';

/**
 * Sessions expire (sliding) and tokens remember when they were last used, coarsely; login
 * attempts are counted in the database so the limit holds across instances; scenarios are
 * deleted softly, so dialogs keep referring to them.
 */
export class Migration20261201000100_sessions_and_tokens extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `alter table "auth_tokens" add column "expires_at" timestamptz null, add column "last_used_at" timestamptz null;`,
    );
    // Sessions opened before expiry existed get the default lifetime from now on.
    this.addSql(
      `update "auth_tokens" set "expires_at" = coalesce("revoked_at", now() + interval '12 hours') where "kind" = 'SESSION';`,
    );
    this.addSql(
      `alter table "auth_tokens" add constraint "auth_tokens_sessions_expire" check ("kind" <> 'SESSION' or "expires_at" is not null);`,
    );
    // The sweep that ends expired sessions.
    this.addSql(
      `create index "auth_tokens_session_expiry_idx" on "auth_tokens" ("expires_at") where "kind" = 'SESSION' and "revoked_at" is null;`,
    );

    // rate-limiter-flexible's PostgreSQL store, in its own layout (key, points, expire in epoch ms).
    this.addSql(`
      create table "login_throttle" (
        "key" varchar(255) primary key,
        "points" integer not null default 0,
        "expire" bigint
      );`);
    this.addSql(`create index "login_throttle_expire_idx" on "login_throttle" ("expire");`);

    this.addSql(`alter table "scenarios" add column "deleted_at" timestamptz null;`);
  }
}
