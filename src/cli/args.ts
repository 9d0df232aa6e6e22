/** Flag parsing for CLI commands: strict, every mistake a UsageError (exit 2). */
import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';
import { UsageError } from '../errors.ts';
import { TENANT_NAME } from '../names.ts';
import type { Command, ParsedArgs } from './context.ts';

const COMMON: ParseArgsOptionsConfig = {
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

/** Parses `argv` (the words after the command name) against the command's flags. */
export function parseCommandArgs(command: Command, argv: readonly string[]): ParsedArgs {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: { ...COMMON, ...command.options },
      allowPositionals: true,
      strict: true,
      tokens: true,
    });
  } catch (error) {
    // node:util throws TypeErrors with codes like ERR_PARSE_ARGS_UNKNOWN_OPTION; make them usage errors.
    const message = error instanceof Error ? error.message : String(error);
    throw new UsageError('ERR_USAGE', `${command.name}: ${message}\n\n${command.usage}`);
  }
  const { positionals, values, tokens } = parsed;
  const options: ParseArgsOptionsConfig = { ...COMMON, ...command.options };
  const seen = new Set<string>();
  for (const token of tokens) {
    if (token.kind !== 'option') continue;
    const spec = options[token.name];
    const shown = token.rawName;
    // Defends against a pipeline silently using the last of two values (`--keyring a --keyring b`).
    if (spec?.multiple !== true && seen.has(token.name)) {
      throw new UsageError(
        'ERR_USAGE',
        `${command.name}: ${shown} is given more than once; it takes one value\n\n${command.usage}`,
      );
    }
    seen.add(token.name);
    if (spec?.type === 'string' && token.value === '') {
      throw new UsageError(
        'ERR_USAGE',
        `${command.name}: ${shown}: expected a non-empty value, got ""\n\n${command.usage}`,
      );
    }
  }
  if (!values['help']) {
    const { min, max } = command.positionals;
    if (positionals.length < min || positionals.length > max) {
      const want = min === max ? `${min}` : `${min} to ${max}`;
      throw new UsageError(
        'ERR_USAGE',
        `${command.name}: expected ${want} argument(s), got ${positionals.length}\n\n${command.usage}`,
      );
    }
  }
  return { values, positionals };
}

/** A required string flag, or a UsageError naming it. */
export function requireString(args: ParsedArgs, name: string, command: Command): string {
  const value = args.values[name];
  if (typeof value !== 'string' || value === '') {
    throw new UsageError('ERR_USAGE', `${command.name}: --${name} is required\n\n${command.usage}`);
  }
  return value;
}

/** An optional string flag. */
export function optionalString(args: ParsedArgs, name: string): string | undefined {
  const value = args.values[name];
  return typeof value === 'string' ? value : undefined;
}

/** A repeatable string flag (declared with `multiple: true`). */
export function stringList(args: ParsedArgs, name: string): string[] {
  const value = args.values[name];
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string');
  return typeof value === 'string' ? [value] : [];
}

/** A boolean flag. */
export function flag(args: ParsedArgs, name: string): boolean {
  return args.values[name] === true;
}

/**
 * A tenant name given on the command line, checked here so a bad one is a usage error naming the
 * flag (exit 2), not a refusal from deeper layers.
 * @throws UsageError ERR_USAGE
 */
export function checkTenant(value: string, command: Command, flagName = '--tenant'): string {
  if (!TENANT_NAME.test(value)) {
    throw new UsageError(
      'ERR_USAGE',
      `${command.name}: ${flagName}: expected a tenant name matching ${TENANT_NAME.source}, got ${JSON.stringify(value.slice(0, 64))}`,
    );
  }
  return value;
}
