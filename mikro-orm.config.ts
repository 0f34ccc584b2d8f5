import { ormConfig } from './src/db/orm.js';

/** For MikroORM's own tooling (e.g. creating a migration): `DATABASE_URL` must be set. */
export default ormConfig({ databaseUrl: process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/handover' });
