import { registerEnumType } from 'type-graphql';

export enum Role {
  ADMIN = 'ADMIN',
  SUPERVISOR = 'SUPERVISOR',
  OPERATOR = 'OPERATOR',
  /** Bot runtimes and scripts. */
  INTEGRATION = 'INTEGRATION',
}

registerEnumType(Role, {
  name: 'Role',
  description: "What a token may do. A session has its user's role; an API token the role it was created with.",
  valuesConfig: {
    ADMIN: { description: 'everything: configuration, accounts, tokens, and all a SUPERVISOR may do' },
    SUPERVISOR: { description: "reads everything, sets any operator's status, works any dialog" },
    OPERATOR: { description: 'works the dialogs assigned to them, takes from Help, reads their groups' },
    INTEGRATION: { description: 'a bot runtime or script: starts dialogs, posts client and bot messages, hands dialogs over' },
  },
});
