import { h } from './dom.js'

const SVG = 'http://www.w3.org/2000/svg'
const WIDTH = 320
const HEIGHT = 160

function svg(tag, attrs, text) {
  const node = document.createElementNS(SVG, tag)
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value))
  if (text !== undefined) node.textContent = text
  return node
}

export function mountChart(root) {
  const data = [
    { label: 'Jan', value: 420 },
    { label: 'Feb', value: 380 },
    { label: 'Mar', value: 510 },
    { label: 'Apr', value: 460 },
    { label: 'May', value: 620 },
    { label: 'Jun', value: 540 },
  ]
  const chart = svg('svg', { class: 'chart', viewBox: `0 0 ${WIDTH} ${HEIGHT + 20}`, role: 'img', 'aria-label': 'Bar chart' })
  const summary = h('p', { class: 'muted' })
  const label = h('input', { placeholder: 'Label', 'aria-label': 'Label' })
  const value = h('input', { type: 'number', placeholder: 'Value', 'aria-label': 'Value' })

  function render() {
    const max = Math.max(1, ...data.map((d) => d.value))
    const slot = WIDTH / Math.max(1, data.length)
    chart.replaceChildren(
      ...data.map((d, i) => {
        const bar = (d.value / max) * HEIGHT
        const rect = svg('rect', { x: i * slot + slot * 0.15, y: HEIGHT - bar, width: slot * 0.7, height: bar, rx: 3 })
        rect.append(svg('title', {}, `${d.label}: ${d.value}`))
        const g = svg('g', {})
        g.append(rect, svg('text', { x: i * slot + slot / 2, y: HEIGHT + 14, 'text-anchor': 'middle' }, d.label))
        return g
      }),
    )
    const total = data.reduce((sum, d) => sum + d.value, 0)
    summary.textContent = `Total ${total} · average ${data.length ? Math.round(total / data.length) : 0}`
  }

  const form = h(
    'form',
    {
      class: 'row',
      onsubmit: (event) => {
        event.preventDefault()
        const v = Number(value.value)
        if (!label.value.trim() || value.value === '' || !Number.isFinite(v) || v < 0) return
        data.push({ label: label.value.trim().slice(0, 6), value: v })
        label.value = ''
        value.value = ''
        render()
      },
    },
    label,
    value,
    h('button', { type: 'submit' }, 'Add bar'),
  )

  root.append(h('section', { class: 'card wide', 'data-testid': 'chart' }, h('h2', {}, 'Overview'), chart, summary, form))
  render()
}
