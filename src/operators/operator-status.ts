import { registerEnumType } from 'type-graphql';

export enum OperatorStatus {
  ONLINE = 'ONLINE',
  /** Paused: keeps and works the dialogs held, receives no new ones. */
  AWAY = 'AWAY',
  OFFLINE = 'OFFLINE',
}

registerEnumType(OperatorStatus, {
  name: 'OperatorStatus',
  description: 'ONLINE receives dialogs; AWAY keeps those held and receives none; OFFLINE holds none',
  valuesConfig: {
    ONLINE: { description: 'receives dialogs (routing and drains pick them)' },
    AWAY: { description: 'paused: keeps the dialogs they hold, receives no new ones (no routing, no drain)' },
    OFFLINE: { description: 'logged out: holds no dialogs' },
  },
});
