import { h, load } from './dom.js'

const COLUMNS = ['To do', 'Doing', 'Done']
const STORAGE_KEY = 'kiln-kanban'

export function mountKanban(root) {
  let cards = load(STORAGE_KEY, [
    { id: 1, text: 'Sketch the idea', column: 2 },
    { id: 2, text: 'Build the first screen', column: 1 },
    { id: 3, text: 'Share with a friend', column: 0 },
  ])
  const input = h('input', { placeholder: 'New card', 'aria-label': 'New card' })
  const board = h('div', { class: 'columns', style: 'margin-top: 0.75rem' })

  function save() {
    localStorage.setItem(STORAGE_KEY, JSON.stringify(cards))
    render()
  }

  function ticket(card, column) {
    const move = (by) => () => {
      card.column += by
      save()
    }
    return h(
      'div',
      { class: 'ticket' },
      h('div', {}, card.text),
      h(
        'div',
        { class: 'row' },
        h('button', { class: 'ghost', disabled: column === 0, onclick: move(-1) }, '←'),
        h('button', { class: 'ghost', disabled: column === COLUMNS.length - 1, onclick: move(1) }, '→'),
        h(
          'button',
          {
            class: 'ghost',
            'aria-label': 'Delete card',
            onclick: () => {
              cards = cards.filter((c) => c.id !== card.id)
              save()
            },
          },
          '✕',
        ),
      ),
    )
  }

  function render() {
    board.replaceChildren(
      ...COLUMNS.map((name, column) =>
        h(
          'div',
          { class: 'column' },
          h('h3', {}, name),
          ...cards.filter((c) => c.column === column).map((c) => ticket(c, column)),
        ),
      ),
    )
  }

  const form = h(
    'form',
    {
      class: 'row',
      onsubmit: (event) => {
        event.preventDefault()
        const text = input.value.trim()
        if (!text) return
        cards.push({ id: Date.now(), text, column: 0 })
        input.value = ''
        save()
      },
    },
    input,
    h('button', { type: 'submit' }, 'Add'),
  )

  root.append(h('section', { class: 'card wide', 'data-testid': 'kanban' }, h('h2', {}, 'Board'), form, board))
  render()
}
