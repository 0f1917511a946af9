/** One measured row of `npm run bench`. */
export interface BenchRow {
  name: string
  value: string
  target: string
  met: boolean
  /** What the same operation costs elsewhere (shared/docs/feed-engines.md anchors). */
  anchor?: string
  /** The bare driver's limit for the same operation, measured in the same run. */
  limit?: string
  /** Eddy's time per operation divided by the bare limit's (1.0 = at the limit). */
  ratio?: number
}

/** Renders rows as a Markdown table, the format the README quotes. */
export function table(rows: BenchRow[]): string {
  // The same-run limit columns appear only when a row has a limit, so other tables keep their shape.
  const limits = rows.some((r) => r.limit !== undefined)
  const extra = limits ? ' raw limit, same run | Eddy ÷ limit (time) |' : ''
  const lines = [
    `| measurement | result | target | met | for comparison |${extra}`,
    `|---|---|---|---|---|${limits ? '---|---|' : ''}`,
  ]
  for (const r of rows) {
    const met = r.target === 'report' ? '–' : r.met ? 'yes' : '**no**'
    const ratio = r.ratio === undefined ? '' : `${r.ratio.toFixed(2)}×`
    const cells = limits ? ` ${r.limit ?? ''} | ${ratio} |` : ''
    lines.push(`| ${r.name} | ${r.value} | ${r.target} | ${met} | ${r.anchor ?? ''} |${cells}`)
  }
  return lines.join('\n')
}
