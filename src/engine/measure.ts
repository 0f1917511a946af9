/**
 * The iterative walk behind Eddy's input bounds, with no dependencies so that both validation
 * (bounds.ts) and error rendering (errors.ts) can use it.
 */

/**
 * Which bound `value` breaks, if any: nesting deeper than `maxDepth` levels of objects and lists
 * (the value itself is level 1), or more than `maxValues` values. Walks what JSON.stringify would
 * (own enumerable values) with an explicit stack, so any depth, or a cycle, is measured safely;
 * counting values stops graphs that share children from being walked exponentially often.
 */
export function measure(value: unknown, maxDepth: number, maxValues: number): 'depth' | 'values' | undefined {
  if (value === null || typeof value !== 'object') return undefined
  const nodes: object[] = [value]
  const depths: number[] = [1]
  let count = 1
  for (;;) {
    const node = nodes.pop()
    const depth = depths.pop()
    if (node === undefined || depth === undefined) break
    const children: unknown[] = Array.isArray(node) ? node : Object.values(node)
    count += children.length
    if (count > maxValues) return 'values'
    for (const child of children) {
      if (child === null || typeof child !== 'object') continue
      if (depth >= maxDepth) return 'depth'
      nodes.push(child)
      depths.push(depth + 1)
    }
  }
  return undefined
}
