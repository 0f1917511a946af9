/**
 * The CLI's flag parsing and its errors in the wording of every other unknown option
 * (`eddy: the serve command has no flag "--prot"; the flags are --port, …; did you mean "--port"?`).
 */
import { type ParseArgsConfig, parseArgs } from 'node:util'
import { closest, unknownOptionMessage } from '../engine/option-names.js'

type Options = NonNullable<ParseArgsConfig['options']>

/**
 * `parseArgs` (strict) for `eddy <command>`; `fail` gets an unknown flag with the valid ones and
 * the nearest, instead of node's "Unknown option" with no hint.
 */
export function parseFlags<C extends ParseArgsConfig & { args: string[]; options: Options }>(
  command: string,
  fail: (message: string) => never,
  config: C,
): ReturnType<typeof parseArgs<C>> {
  const { args, options } = config
  try {
    return parseArgs(config)
  } catch (error) {
    const e = error as NodeJS.ErrnoException
    const flag = /'(-[^']*)'/.exec(e.message)?.[1]
    if (e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && flag !== undefined) {
      const names = Object.keys(options).map((name) => `--${name}`)
      // `--prot=80` is the flag `--prot`.
      fail(unknownOptionMessage(`the ${command} command`, flag.replace(/=.*/, ''), names, 'flag'))
    }
    if (e.code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL')
      fail(
        `eddy ${command} takes flags only, got ${JSON.stringify(args.find((a) => !a.startsWith('-')))}; see eddy --help`,
      )
    fail(e.message)
  }
}

/** `eddy serv`: the command nearest to an unknown one, as a hint. */
export function unknownCommand(command: string, commands: readonly string[]): string {
  const guess = closest(command, commands)
  const hint = guess === undefined ? '' : `; did you mean "eddy ${guess}"?`
  return `unknown command ${JSON.stringify(command)}: the commands are ${commands.join(', ')}${hint} (eddy --help)`
}

/** A listen error that names the flag to change when the port is taken or not allowed. */
export function listenError(error: unknown, flag: string, port: number): string {
  const code = (error as NodeJS.ErrnoException).code
  if (code === 'EADDRINUSE')
    return `${flag} ${port}: the port is taken by another process; pick another with ${flag} <n> (${flag} 0 picks a free one)`
  if (code === 'EACCES')
    return `${flag} ${port}: not allowed to listen on it (ports below 1024 need privileges); pick another with ${flag} <n>`
  return `${flag} ${port}: ${(error as Error).message}`
}
