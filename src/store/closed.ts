/** The error both built-in stores raise for any call after `close()`. */
import { EddyError, show } from '../engine/errors.js'

/** A call on a closed store: says which store and what to do instead. */
export function closedError(name: string): EddyError {
  return new EddyError(
    'InputException',
    `the store ${show(name)} is closed (close() was called on it or on its client); open a new one, e.g. connect() again`,
  )
}
