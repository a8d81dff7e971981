import { plainToInstance } from 'class-transformer';
import { validateSync, ValidationError } from 'class-validator';
import { EnvSchema } from './env-schema';
import { parseTrustProxy } from './http-config';
import { parseSentinels } from './redis-config';

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** The environment, checked: its variables, and the lists two of them hold, parsed. */
export interface ValidatedEnv {
  env: EnvSchema;
  trustProxy: string[] | false;
  sentinels?: Array<{ host: string; port: number }>;
}

/** Parses and validates the environment; throws {@link ConfigError} naming every bad variable. */
export function validateEnv(env: Record<string, string | undefined>): ValidatedEnv {
  const defined = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = plainToInstance(EnvSchema, defined, { exposeDefaultValues: true });
  const errors = validateSync(parsed, { whitelist: false, skipMissingProperties: false });
  const trustProxy = parseTrustProxy(parsed.TRUST_PROXY);
  const sentinels = parseSentinels(parsed.REDIS_SENTINELS);
  const problems = [
    ...flatten(errors),
    ...(trustProxy.problem ? [trustProxy.problem] : []),
    ...(sentinels.problem ? [sentinels.problem] : []),
  ];
  if (parsed.METRICS_PORT !== undefined && parsed.METRICS_PORT === parsed.PORT)
    problems.push('METRICS_PORT must differ from PORT');
  if (problems.length > 0) throw new ConfigError(problems);
  return { env: parsed, trustProxy: trustProxy.list, sentinels: sentinels.list };
}

function flatten(errors: ValidationError[]): string[] {
  return errors.flatMap((e) => {
    const constraints = Object.values(e.constraints ?? {});
    const message = constraints[0] ?? 'is invalid';
    // Name the variable even when the message is a generic class-validator one.
    return [message.startsWith(e.property) ? message : `${e.property}: ${message}`];
  });
}
