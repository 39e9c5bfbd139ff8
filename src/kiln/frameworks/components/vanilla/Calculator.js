import { h } from './dom.js'

const OPS = {
  '+': (a, b) => a + b,
  '−': (a, b) => a - b,
  '×': (a, b) => a * b,
  '÷': (a, b) => (b === 0 ? NaN : a / b),
}

export function mountCalculator(root) {
  const a = h('input', { type: 'number', value: '12', 'aria-label': 'First number' })
  const b = h('input', { type: 'number', value: '3', 'aria-label': 'Second number' })
  const op = h('select', { 'aria-label': 'Operator' }, ...Object.keys(OPS).map((o) => h('option', {}, o)))
  const result = h('p', { class: 'big' })
  const celsius = h('input', { type: 'number', value: '20', 'aria-label': 'Celsius' })
  const converted = h('span')

  function update() {
    const value = OPS[op.value](Number(a.value), Number(b.value))
    result.textContent = `= ${Number.isFinite(value) ? Number(value.toFixed(6)) : '—'}`
    const f = (Number(celsius.value) * 9) / 5 + 32
    converted.textContent = `°C = ${Number(f.toFixed(1))} °F`
  }

  for (const input of [a, b, op, celsius]) input.addEventListener('input', update)

  root.append(
    h(
      'section',
      { class: 'card', 'data-testid': 'calculator' },
      h('h2', {}, 'Calculator'),
      h('div', { class: 'row' }, a, op, b),
      result,
      h('h2', {}, 'Converter'),
      h('div', { class: 'row' }, celsius, converted),
    ),
  )
  update()
}
