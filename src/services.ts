import { ApiTokenService } from './auth/api-token.service.js';
import { AuthService } from './auth/auth.service.js';
import { LoginThrottle } from './auth/login-throttle.js';
import { PasswordService } from './auth/password.service.js';
import type { Config } from './config.js';
import { DialogQueries } from './dialogs/dialog.queries.js';
import { DialogService } from './dialogs/dialog.service.js';
import { ReadMarkerService } from './dialogs/read-marker.service.js';
import { GroupService } from './groups/group.service.js';
import { OperatorService } from './operators/operator.service.js';
import { PresenceService } from './operators/presence.service.js';
import type { EventBus } from './realtime/event-bus.js';
import type { EventSink } from './events/domain-event.js';
import { Router } from './routing/router.js';
import { ScenarioService } from './scenarios/scenario.service.js';
import type { Clock } from './shared/clock.js';
import { SlClock } from './sl/sl-clock.js';
import { UserService } from './users/user.service.js';
import { SlTicker } from './sl/sl-ticker.js';
import { SlReportService } from './sl/sl-report.service.js';
import { StaffingService } from './sl/staffing.service.js';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Metrics } from './observability/metrics.js';
import type { Logger } from './shared/logger.js';
import { DeliveryWorker } from './webhooks/delivery-worker.js';
import { SecretBox } from './webhooks/secret-box.js';
import { WebhookSender } from './webhooks/sender.js';
import { WebhookService } from './webhooks/webhook.service.js';

/** The application's services, wired once per process. */
export interface Services {
  readonly clock: Clock;
  readonly config: Config;
  readonly events: EventSink;
  /** Where subscriptions listen for committed events. */
  readonly bus: EventBus;
  readonly router: Router;
  readonly groups: GroupService;
  readonly operators: OperatorService;
  /** ONLINE / AWAY / OFFLINE, logouts, auto- and grace logout, and their re-routing. */
  readonly presence: PresenceService;
  readonly users: UserService;
  readonly scenarios: ScenarioService;
  readonly auth: AuthService;
  readonly apiTokens: ApiTokenService;
  readonly passwords: PasswordService;
  /** Failed password checks per email and per client address. */
  readonly loginThrottle: LoginThrottle;
  readonly dialogs: DialogService;
  readonly dialogQueries: DialogQueries;
  readonly readMarkers: ReadMarkerService;
  readonly slReports: SlReportService;
  readonly staffing: StaffingService;
  /** Started by the app; serves slTicks. */
  readonly slTicker: SlTicker;
  readonly webhooks: WebhookService;
  /** Started by the app; sends the event log to webhooks. */
  readonly webhookWorker: DeliveryWorker;
  /** This app instance's metrics (its own registry). */
  readonly metrics: Metrics;
  readonly logger: Logger;
}

/** What the services report to, besides the database. */
export interface Observers {
  readonly metrics: Metrics;
  readonly logger: Logger;
}

export function createServices(
  config: Config,
  clock: Clock,
  events: EventSink,
  bus: EventBus,
  rootEm: EntityManager,
  { metrics, logger }: Observers,
  /** The database the webhook worker's own connection goes to. */
  databaseUrl: string,
): Services {
  const sl = new SlClock({
    firstResponseSec: config.slDefaultFirstResponseSec,
    nextResponseSec: config.slDefaultNextResponseSec,
  });
  const dialogQueries = new DialogQueries(clock);
  const router = new Router(clock, events, sl, { helpQueueMax: config.helpQueueMax }, (decision) => {
    metrics.routingDecisions.inc({ kind: decision.kind, outcome: decision.outcome, reason: decision.reason ?? 'none' });
    metrics.routingSeconds.observe({ kind: decision.kind }, decision.seconds);
  });
  const groups = new GroupService(clock, {
    // New members may take queued dialogs at once; several operators are locked in id order.
    membersAdded: async (tx, _groupId, operatorIds) => {
      for (const id of [...operatorIds].sort()) await router.drain(tx, id);
    },
  });
  const presence = new PresenceService(clock, events, router, { graceSec: config.presenceGraceSec });
  const operators = new OperatorService(clock, events, presence);
  const loginThrottle = new LoginThrottle(
    rootEm,
    {
      maxFailuresPerEmail: config.loginMaxFailuresPerEmail,
      maxFailuresPerAddress: config.loginMaxFailuresPerAddress,
      windowSec: config.loginThrottleWindowSec,
    },
    (limit) => metrics.loginRefusals.inc({ limit }),
  );
  const secrets = new SecretBox(config.webhookSecretKey);
  const webhookWorker = new DeliveryWorker({
    databaseUrl,
    rootEm,
    bus,
    clock,
    sender: new WebhookSender(config.webhookAllowPrivateNetworks),
    secrets,
    metrics,
    logger,
  });
  return {
    clock,
    config,
    events,
    bus,
    router,
    groups,
    operators,
    presence,
    users: new UserService(clock, operators, events),
    scenarios: new ScenarioService(clock),
    auth: new AuthService(
      clock,
      presence,
      loginThrottle,
      { adminToken: config.adminToken, sessionTtlSec: config.sessionTtlSec },
      (from) => metrics.tokenLookups.inc({ from }),
    ),
    apiTokens: new ApiTokenService(clock, events),
    passwords: new PasswordService(events, presence, loginThrottle),
    loginThrottle,
    dialogs: new DialogService(clock, router, sl, events),
    dialogQueries,
    readMarkers: new ReadMarkerService(clock, dialogQueries),
    slReports: new SlReportService(clock),
    staffing: new StaffingService(clock, config.slDefaultFirstResponseSec),
    slTicker: new SlTicker(rootEm, bus, clock, logger),
    webhooks: new WebhookService(clock, bus.log, secrets, config.webhookAllowPrivateNetworks, () =>
      webhookWorker.webhooksChanged(),
    ),
    webhookWorker,
    metrics,
    logger,
  };
}
