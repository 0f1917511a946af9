/**
 * `{% render_activity activity %}` for LiquidJS (`eddy/liquid`), as stream-django's template tag:
 * picks `activity/[aggregated/][prefix_]<verb>.liquid`, renders it with the whole context plus
 * `activity`, and applies the not-enriched policy.
 *
 * ```liquid
 * {% for activity in activities %}{% render_activity activity 'homepage' %}{% endfor %}
 * {% render_activity activity template_prefix: 'email', missing_data_policy: 'fail' %}
 * ```
 */
import {
  type Context,
  type Emitter,
  Liquid,
  type LiquidOptions,
  LookupType,
  Tag,
  type TagToken,
  Value,
} from 'liquidjs'
import {
  activityTemplateName,
  checkEnriched,
  MissingDataError,
  type MissingDataPolicy,
  TemplateNotFoundError,
} from '../templates.js'

export { activityTemplateName, MissingDataError, type MissingDataPolicy, TemplateNotFoundError }

/** Options of {@link registerRenderActivity}. */
export interface RenderActivityOptions {
  /** Tag name (default `render_activity`). */
  tagName?: string
  /** Template file extension (default: the Liquid `extname` option, else `.liquid`). */
  extension?: string
  /** Where `warn` messages go (default `console.warn`). */
  warn?: (message: string) => void
}

const ARG = /(?:(\w+)\s*[=:]\s*)?("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|[^\s,]+)/g
const POSITIONAL = ['activity', 'template_prefix', 'missing_data_policy'] as const

/** Adds the `render_activity` tag to a Liquid instance. */
export function registerRenderActivity(liquid: Liquid, options: RenderActivityOptions = {}): Liquid {
  const extension = options.extension ?? (liquid.options.extname || '.liquid')
  const warn = options.warn ?? ((message: string) => console.warn(message))

  class RenderActivityTag extends Tag {
    readonly #args = new Map<string, Value>()

    constructor(token: TagToken, remainTokens: any, engine: Liquid, parser?: any) {
      super(token, remainTokens, engine)
      void parser
      let position = 0
      for (const match of token.args.matchAll(ARG)) {
        const [, name, expr] = match
        const key = name ?? POSITIONAL[position++]
        if (!key || !(POSITIONAL as readonly string[]).includes(key)) {
          throw new Error(
            `render_activity takes activity, template_prefix and missing_data_policy, got ${JSON.stringify(match[0])}`,
          )
        }
        this.#args.set(key, new Value(expr, engine))
      }
      if (!this.#args.has('activity'))
        throw new Error('render_activity needs an activity: {% render_activity activity %}')
    }

    *render(ctx: Context, emitter: Emitter): Generator<unknown, void, unknown> {
      const activity = (yield this.#args.get('activity')!.value(ctx, false)) as Record<string, unknown>
      const prefixValue = this.#args.get('template_prefix')
      const policyValue = this.#args.get('missing_data_policy')
      const prefix = prefixValue ? String((yield prefixValue.value(ctx, false)) ?? '') : ''
      const policy = policyValue ? String((yield policyValue.value(ctx, false)) ?? 'warn') : 'warn'
      if (!checkEnriched(activity, policy, warn)) return
      const file = activityTemplateName(activity, prefix, extension)
      let templates: unknown
      try {
        const engine = this.liquid as any
        templates =
          typeof engine._parseFile === 'function'
            ? yield engine._parseFile(file, ctx.sync, LookupType.Root)
            : yield this.liquid.parseFile(file)
      } catch (error) {
        if (/ENOENT|Failed to lookup/.test((error as Error)?.message ?? '')) {
          const roots = ([] as string[]).concat(
            (this.liquid.options.root as string[] | string | undefined) ?? [],
          )
          throw new TemplateNotFoundError(file, roots)
        }
        throw error
      }
      ctx.push({ activity })
      try {
        yield this.liquid.renderer.renderTemplates(templates as any, ctx, emitter)
      } finally {
        ctx.pop()
      }
    }
  }

  liquid.registerTag(options.tagName ?? 'render_activity', RenderActivityTag as any)
  return liquid
}

/** A Liquid instance with `render_activity` registered. */
export function createLiquid(options: LiquidOptions = {}, tagOptions: RenderActivityOptions = {}): Liquid {
  return registerRenderActivity(new Liquid(options), tagOptions)
}

/** The error a template raised, unwrapped from Liquid's `RenderError` (e.g. a {@link MissingDataError}). */
export function unwrapRenderError(error: unknown): unknown {
  let e = error as { originalError?: unknown } | undefined
  while (e && typeof e === 'object' && e.originalError) e = e.originalError as typeof e
  return e
}
