import { AuthService } from './auth/auth.service.js';
import type { Config } from './config.js';
import { GroupService } from './groups/group.service.js';
import { OperatorService } from './operators/operator.service.js';
import { ScenarioService } from './scenarios/scenario.service.js';
import type { Clock } from './shared/clock.js';
import { UserService } from './users/user.service.js';

/** The application's services, wired once per process. */
export interface Services {
  readonly clock: Clock;
  readonly config: Config;
  readonly groups: GroupService;
  readonly operators: OperatorService;
  readonly users: UserService;
  readonly scenarios: ScenarioService;
  readonly auth: AuthService;
}

export function createServices(config: Config, clock: Clock): Services {
  const groups = new GroupService(clock);
  const operators = new OperatorService(clock);
  return {
    clock,
    config,
    groups,
    operators,
    users: new UserService(clock, operators),
    scenarios: new ScenarioService(clock),
    auth: new AuthService(clock, operators),
  };
}
