/** LiquidJS with `render_activity` (from `eddy/liquid`) and a few display filters. */
import { fileURLToPath } from 'node:url'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Liquid } from 'liquidjs'
import { createLiquid } from '../../src/django/liquid/index.js'
import { MENTION } from './actions.js'
import type { ChirpContext } from './context.js'
import type { User } from './entities.js'
import { unseenCount } from './feeds.js'

export const VIEWS_DIR = fileURLToPath(new URL('./views/', import.meta.url))

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
}
export const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => ESCAPES[c])

/** A `Date`, or an activity time (naive UTC, as Stream writes them). */
function toDate(value: unknown): Date | undefined {
  if (value instanceof Date) return value
  if (typeof value !== 'string' || value === '') return undefined
  const d = new Date(/[zZ]|[+-]\d\d:?\d\d$/.test(value) ? value : `${value}Z`)
  return Number.isNaN(d.getTime()) ? undefined : d
}

/** "now", "5m", "3h", "2d", then "12 Mar". */
export function ago(value: unknown, now = Date.now()): string {
  const d = toDate(value)
  if (!d) return ''
  const s = Math.max(0, Math.round((now - d.getTime()) / 1000))
  if (s < 45) return 'now'
  if (s < 3600) return `${Math.max(1, Math.round(s / 60))}m`
  if (s < 86_400) return `${Math.round(s / 3600)}h`
  if (s < 7 * 86_400) return `${Math.floor(s / 86_400)}d`
  return d.toLocaleDateString('en-GB', { day: 'numeric', month: 'short', timeZone: 'UTC' })
}

/** Escaped chirp text with @mentions linked and line breaks kept. */
export function chirpText(value: unknown): string {
  return escapeHtml(String(value ?? ''))
    .replace(MENTION, (_m, pre, name) => `${pre}<a href="/u/${name.toLowerCase()}">@${name}</a>`)
    .replace(/\n/g, '<br>')
}

export function createViews(): Liquid {
  const liquid = createLiquid({
    root: VIEWS_DIR,
    extname: '.liquid',
    outputEscape: 'escape',
    cache: process.env.NODE_ENV !== 'development',
  })
  liquid.registerFilter('ago', (v: unknown) => ago(v))
  liquid.registerFilter('iso', (v: unknown) => toDate(v)?.toISOString() ?? '')
  liquid.registerFilter('chirp_text', chirpText)
  liquid.registerFilter('initials', (name: unknown) =>
    String(name ?? '?')
      .split(/\s+/)
      .filter(Boolean)
      .slice(0, 2)
      .map((w) => w[0].toUpperCase())
      .join(''),
  )
  return liquid
}

/** Renders a page inside the layout, with the signed-in user and the unseen badge. */
export async function render(
  ctx: ChirpContext,
  request: FastifyRequest,
  reply: FastifyReply,
  view: string,
  data: Record<string, unknown> = {},
  status = 200,
): Promise<FastifyReply> {
  const me = request.me as User | undefined
  const html = await ctx.liquid.renderFile(view, {
    me,
    unseen: me ? await unseenCount(me.id) : 0,
    back: request.url,
    ...data,
  })
  return reply.code(status).type('text/html; charset=utf-8').send(html)
}
