/**
 * How the examples take their port: the one a variable names, else a default; when the default is
 * taken (another example, another app), a free one instead, saying so. A port the user chose that
 * is taken ends the run with one line naming the variable, not an `EADDRINUSE` stack.
 */
import type { FastifyInstance } from 'fastify'

/** Where an example listens, and which environment variable chooses the port. */
export interface ListenSpec {
  /** The example's name, for messages: `Chirp`. */
  name: string
  /** The environment variable that sets the port: `PORT`. */
  variable: string
  /** The port when the variable is not set. */
  defaultPort: number
  host: string
  /** The environment to read (default: process.env). */
  env?: NodeJS.ProcessEnv
}

/** A port taken by someone else: the message for it, and whether the user chose it. */
export class PortInUseError extends Error {}

/**
 * Listens as the spec says and resolves with the address. Rejects with a {@link PortInUseError}
 * naming the variable when the chosen port is taken; a bad value of the variable is refused too.
 */
export async function listen(app: FastifyInstance, spec: ListenSpec): Promise<string> {
  const raw = (spec.env ?? process.env)[spec.variable]
  const chosen = raw !== undefined && raw !== ''
  const port = chosen ? Number(raw) : spec.defaultPort
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new PortInUseError(`${spec.name}: ${spec.variable} must be a port from 0 to 65535, got ${raw}`)
  try {
    return await app.listen({ port, host: spec.host })
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error
    if (chosen)
      throw new PortInUseError(
        `${spec.name}: port ${port} is in use; set ${spec.variable} to another port (${spec.variable}=0 picks a free one)`,
      )
    const address = await app.listen({ port: 0, host: spec.host })
    process.stderr.write(
      `${spec.name}: port ${port} is in use, so it listens on a free port instead (set ${spec.variable} to choose one)\n`,
    )
    return address
  }
}

/** Runs an example's start, printing a {@link PortInUseError} as one line and exiting 1. */
export async function orExit<T>(start: Promise<T>): Promise<T> {
  try {
    return await start
  } catch (error) {
    if (!(error instanceof PortInUseError)) throw error
    process.stderr.write(`${error.message}\n`)
    process.exit(1)
  }
}
