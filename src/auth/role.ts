import { registerEnumType } from 'type-graphql';

export enum Role {
  ADMIN = 'ADMIN',
  SUPERVISOR = 'SUPERVISOR',
  OPERATOR = 'OPERATOR',
  /** Bot runtimes and scripts. */
  INTEGRATION = 'INTEGRATION',
}

registerEnumType(Role, { name: 'Role' });
