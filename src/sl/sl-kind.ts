import { registerEnumType } from 'type-graphql';

export enum SlKind {
  FIRST_RESPONSE = 'FIRST_RESPONSE',
  NEXT_RESPONSE = 'NEXT_RESPONSE',
}
registerEnumType(SlKind, {
  name: 'SlKind',
  description: 'Which service-level clock: the two targets each group sets.',
  valuesConfig: {
    FIRST_RESPONSE: {
      description:
        "from the dialog first reaching operators (assigned or queued) to the assigned operator's first reply; target slFirstResponseSec",
    },
    NEXT_RESPONSE: {
      description:
        "from a client message after an operator reply to the assigned operator's next reply; target slNextResponseSec",
    },
  },
});
