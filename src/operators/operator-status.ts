import { registerEnumType } from 'type-graphql';

export enum OperatorStatus {
  ONLINE = 'ONLINE',
  OFFLINE = 'OFFLINE',
}

registerEnumType(OperatorStatus, {
  name: 'OperatorStatus',
  description: 'Whether an operator receives dialogs.',
  valuesConfig: {
    ONLINE: { description: 'receives dialogs up to maxDialogs, and drains the Help queue as capacity frees' },
    OFFLINE: { description: 'receives nothing; going OFFLINE routes the dialogs they held again' },
  },
});
