import type { EntityManager } from '@mikro-orm/postgresql';
import type { EventSink } from '../events/domain-event.js';
import type { Clock } from '../shared/clock.js';
import { BadInputError, NotFoundError } from '../shared/errors.js';
import { inTransaction } from '../shared/transaction.js';
import { isId, requiredName, validateAll } from '../shared/validate.js';
import { TokenKind } from './auth-token.entity.js';
import { ApiToken } from './auth.types.js';
import { Role } from './role.js';
import { generateToken, tokenHash } from './secrets.js';
import { insertToken, listApiTokens, readToken, revokeToken } from './token-record.js';

export interface IssuedToken {
  readonly id: string;
  readonly name: string;
  readonly role: Role;
  /** The only time the token itself is available. */
  readonly token: string;
}

/** API tokens for scripts and bot runtimes: issued, listed, revoked. */
export class ApiTokenService {
  constructor(
    private readonly clock: Clock,
    private readonly events: EventSink,
  ) {}

  async create(em: EntityManager, name: string, role: Role): Promise<IssuedToken> {
    const [validName] = validateAll(
      () => requiredName('name', name),
      () => {
        if (!Object.values(Role).includes(role)) throw new BadInputError('role', 'Unknown role');
      },
    );
    const token = generateToken();
    const id = await inTransaction(em, (tx) =>
      insertToken(tx, {
        kind: TokenKind.API,
        name: validName,
        role,
        tokenHash: tokenHash(token),
        createdAt: this.clock.now(),
      }),
    );
    return { id, name: validName, role, token };
  }

  /** Every API token, revoked ones included, newest first. */
  async list(em: EntityManager): Promise<ApiToken[]> {
    return (await listApiTokens(em)).map((row) => ApiToken.of(row));
  }

  /**
   * Revokes the token. The announcement evicts it from every instance's viewer cache (this
   * instance's before the answer, the others' as the log delivers it) and closes its
   * WebSockets. Revoking twice keeps the first time.
   */
  async revoke(em: EntityManager, id: string): Promise<ApiToken> {
    return inTransaction(em, async (tx) => {
      const row = isId(id) ? await readToken(tx, id, true) : null;
      if (row?.kind !== TokenKind.API) throw new NotFoundError('ApiToken', id, 'id');
      if (row.revokedAt !== null) return ApiToken.of(row);
      const revokedAt = this.clock.now();
      await revokeToken(tx, row.id, revokedAt);
      await this.events.publish(tx, { kind: 'token_revoked', tokenId: row.id });
      return ApiToken.of({ ...row, revokedAt });
    });
  }
}
