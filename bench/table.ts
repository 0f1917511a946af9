/** One measured row of `npm run bench`. */
export interface BenchRow {
  name: string
  value: string
  target: string
  met: boolean
  /** What the same operation costs elsewhere (shared/docs/feed-engines.md anchors). */
  anchor?: string
}

/** Renders rows as a Markdown table, the format the README quotes. */
export function table(rows: BenchRow[]): string {
  const lines = ['| measurement | result | target | met | for comparison |', '|---|---|---|---|---|']
  for (const r of rows) {
    const met = r.target === 'report' ? '–' : r.met ? 'yes' : '**no**'
    lines.push(`| ${r.name} | ${r.value} | ${r.target} | ${met} | ${r.anchor ?? ''} |`)
  }
  return lines.join('\n')
}
