import { registerEnumType } from 'type-graphql';

export enum OperatorStatus {
  ONLINE = 'ONLINE',
  OFFLINE = 'OFFLINE',
}

registerEnumType(OperatorStatus, { name: 'OperatorStatus' });
