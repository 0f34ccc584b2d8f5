import { AuthToken } from '../auth/auth-token.entity.js';
import { GroupMember } from '../groups/group-member.entity.js';
import { Group } from '../groups/group.entity.js';
import { Operator } from '../operators/operator.entity.js';
import { Scenario } from '../scenarios/scenario.entity.js';
import { User } from '../users/user.entity.js';
import { Dialog } from '../dialogs/dialog.entity.js';
import { Message } from '../dialogs/message.entity.js';
import { DialogTransfer } from '../routing/dialog-transfer.entity.js';
import { Webhook } from '../webhooks/webhook.entity.js';

/** Every persisted entity, listed explicitly so discovery needs no file scanning. */
export const entities = [User, Group, Operator, GroupMember, Scenario, AuthToken, Dialog, Message, DialogTransfer, Webhook];
