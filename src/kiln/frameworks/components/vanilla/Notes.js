import { h, load } from './dom.js'

const STORAGE_KEY = 'kiln-notes'

export function mountNotes(root) {
  let notes = load(STORAGE_KEY, [])
  const draft = h('textarea', { placeholder: 'Write a note…', 'aria-label': 'New note' })
  const list = h('ul', { class: 'list' })
  const count = h('span', { class: 'muted' })

  function save() {
    localStorage.setItem(STORAGE_KEY, JSON.stringify(notes))
    render()
  }

  function render() {
    count.textContent = `${notes.length} saved`
    list.replaceChildren(
      ...notes.map((note) =>
        h(
          'li',
          {},
          h('span', {}, note.text, h('br'), h('small', { class: 'muted' }, note.created)),
          h(
            'button',
            {
              class: 'ghost',
              'aria-label': 'Delete note',
              onclick: () => {
                notes = notes.filter((n) => n.id !== note.id)
                save()
              },
            },
            '✕',
          ),
        ),
      ),
    )
  }

  function saveNote() {
    const text = draft.value.trim()
    if (!text) return
    notes.unshift({ id: Date.now(), text, created: new Date().toLocaleString() })
    draft.value = ''
    save()
  }

  root.append(
    h(
      'section',
      { class: 'card', 'data-testid': 'notes' },
      h('h2', {}, 'Notes'),
      draft,
      h('div', { class: 'row' }, h('button', { onclick: saveNote }, 'Save note'), count),
      list,
    ),
  )
  render()
}
