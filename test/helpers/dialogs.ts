import type { GraphqlClient } from './gql.js';

export const DIALOG_FIELDS = `id status externalId queuedAt assignedAt closedAt firstResponseAt
  group { id } operator { id } slTimer { kind remainingMs breached deadline startedAt }`;

export interface DialogView {
  id: string;
  status: string;
  group: { id: string } | null;
  operator: { id: string } | null;
  slTimer: { kind: string; remainingMs: number; breached: boolean; deadline: string; startedAt: string } | null;
  [key: string]: unknown;
}

export async function startDialog(bot: GraphqlClient, input: Record<string, unknown> = {}): Promise<DialogView> {
  const data = await bot.ok<{ startDialog: DialogView }>(
    `mutation($input: StartDialogInput!) { startDialog(input: $input) { ${DIALOG_FIELDS} } }`,
    { input },
  );
  return data.startDialog;
}

export async function transfer(
  client: GraphqlClient,
  dialogId: string,
  to: { groupId?: string; operatorId?: string },
): Promise<DialogView> {
  const data = await client.ok<{ transferDialog: DialogView }>(
    `mutation($id: ID!, $to: TransferTarget!) { transferDialog(dialogId: $id, to: $to) { ${DIALOG_FIELDS} } }`,
    { id: dialogId, to },
  );
  return data.transferDialog;
}

export async function closeDialog(client: GraphqlClient, dialogId: string): Promise<DialogView> {
  const data = await client.ok<{ closeDialog: DialogView }>(
    `mutation($id: ID!) { closeDialog(dialogId: $id) { ${DIALOG_FIELDS} } }`,
    { id: dialogId },
  );
  return data.closeDialog;
}

export async function setStatus(client: GraphqlClient, operatorId: string, status: 'ONLINE' | 'AWAY' | 'OFFLINE'): Promise<void> {
  await client.ok(`mutation($id: ID!, $s: OperatorStatus!) { setOperatorStatus(operatorId: $id, status: $s) { id } }`, {
    id: operatorId,
    s: status,
  });
}

export async function getDialog(client: GraphqlClient, id: string): Promise<DialogView> {
  const data = await client.ok<{ dialog: DialogView }>(`query($id: ID!) { dialog(id: $id) { ${DIALOG_FIELDS} } }`, { id });
  return data.dialog;
}

export interface TransferView {
  outcome: string;
  reasons: string[];
  note: string | null;
  kind: string;
  toOperator: { id: string } | null;
  fromOperator: { id: string } | null;
  requestedGroup: { id: string } | null;
  requestedOperator: { id: string } | null;
}

export async function lastTransfer(client: GraphqlClient, id: string): Promise<TransferView> {
  const data = await client.ok<{ dialog: { transfers: TransferView[] } }>(
    `query($id: ID!) { dialog(id: $id) { transfers { outcome reasons note kind toOperator { id } fromOperator { id } requestedGroup { id } requestedOperator { id } } } }`,
    { id },
  );
  const last = data.dialog.transfers.at(-1);
  if (!last) throw new Error(`dialog ${id} has no transfers`);
  return last;
}
