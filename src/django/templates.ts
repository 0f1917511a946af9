/**
 * Template selection for `render_activity`, engine-neutral so Nunjucks, React or any other
 * renderer can reuse it: `activity/[aggregated/][prefix_]<verb>`.
 */

/** What to do when an activity was not fully enriched. */
export type MissingDataPolicy = 'warn' | 'ignore' | 'fail'

/** Raised by the `fail` policy. */
export class MissingDataError extends Error {
  constructor(
    readonly notEnrichedData: Record<string, string>,
    readonly activityId: unknown,
  ) {
    super(`could not enrich field(s) ${JSON.stringify(notEnrichedData)} for activity #${String(activityId)}`)
    this.name = 'MissingDataError'
  }
}

/** A template `render_activity` looked for does not exist. */
export class TemplateNotFoundError extends Error {
  constructor(
    readonly template: string,
    readonly searched: readonly string[] = [],
  ) {
    super(
      `render_activity: template ${template} does not exist` +
        (searched.length ? ` (looked in ${searched.join(', ')})` : ''),
    )
    this.name = 'TemplateNotFoundError'
  }
}

/**
 * The template for an activity: `activity/<prefix_><verb>`, or `activity/aggregated/...` when it
 * has `activities` (an aggregated or notification group, whose verb is the group's).
 * `extension` is appended (e.g. `.liquid`).
 */
export function activityTemplateName(activity: Record<string, unknown>, prefix = '', extension = ''): string {
  if (activity === null || typeof activity !== 'object')
    throw new TypeError('render_activity needs an activity object')
  const verb = activity.verb
  if (verb === undefined || verb === null || verb === '') {
    throw new TypeError(
      `render_activity: the activity has no verb (${JSON.stringify(activity).slice(0, 80)})`,
    )
  }
  const p = prefix ? `${prefix}_` : ''
  const folder = 'activities' in activity ? 'activity/aggregated/' : 'activity/'
  return `${folder}${p}${String(verb)}${extension}`
}

/** Something that says whether it was enriched (an `EnrichedActivity`). */
interface MaybeEnriched {
  enriched?: unknown
  notEnrichedData?: Record<string, string>
  id?: unknown
}

/**
 * Applies the not-enriched policy. Returns true when the activity should render, false when it
 * should render nothing; throws {@link MissingDataError} for `fail`.
 */
export function checkEnriched(
  activity: unknown,
  policy: string = 'warn',
  warn: (message: string) => void = (m) => console.warn(m),
): boolean {
  const a = activity as MaybeEnriched
  if (!a || typeof a !== 'object' || !('enriched' in a) || a.enriched !== false) return true
  const missing = a.notEnrichedData ?? {}
  switch (policy) {
    case 'warn':
      warn(`could not enrich field(s) ${JSON.stringify(missing)} for activity #${String(a.id)}`)
      return false
    case 'ignore':
      return false
    case 'fail':
      throw new MissingDataError(missing, a.id)
    default:
      throw new TypeError(`${policy} is not a valid missing_data_policy (use warn, ignore or fail)`)
  }
}
