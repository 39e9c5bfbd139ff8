import { h } from './dom.js'

export function mountCounter(root) {
  let count = 0
  const value = h('p', { class: 'big' }, '0')
  const step = h('input', { type: 'number', min: '1', value: '1', style: 'width: 4rem; flex: none' })

  function change(by) {
    count = by === 0 ? 0 : count + by * Math.max(1, Number(step.value) || 1)
    value.textContent = String(count)
  }

  root.append(
    h(
      'section',
      { class: 'card', 'data-testid': 'counter' },
      h('h2', {}, 'Counter'),
      value,
      h(
        'div',
        { class: 'row' },
        h('button', { onclick: () => change(-1) }, '−'),
        h('button', { onclick: () => change(1) }, '+'),
        h('button', { class: 'ghost', onclick: () => change(0) }, 'Reset'),
        h('label', { class: 'row muted' }, 'step', step),
      ),
    ),
  )
}
