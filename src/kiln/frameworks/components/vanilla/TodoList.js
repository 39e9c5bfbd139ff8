import { h, load } from './dom.js'

const STORAGE_KEY = 'kiln-todos'

export function mountTodoList(root) {
  let todos = load(STORAGE_KEY, [])
  const input = h('input', { placeholder: 'What needs doing?', 'aria-label': 'New task' })
  const list = h('ul', { class: 'list' })
  const status = h('p', { class: 'muted' })

  function save() {
    localStorage.setItem(STORAGE_KEY, JSON.stringify(todos))
    render()
  }

  function render() {
    list.replaceChildren(
      ...todos.map((todo) =>
        h(
          'li',
          {},
          h('input', {
            type: 'checkbox',
            checked: todo.done,
            'aria-label': `Done: ${todo.text}`,
            onchange: () => {
              todo.done = !todo.done
              save()
            },
          }),
          h('span', { class: todo.done ? 'done' : '' }, todo.text),
          h(
            'button',
            {
              class: 'ghost',
              'aria-label': 'Delete',
              onclick: () => {
                todos = todos.filter((t) => t.id !== todo.id)
                save()
              },
            },
            '✕',
          ),
        ),
      ),
    )
    const left = todos.filter((t) => !t.done).length
    status.textContent = todos.length === 0 ? 'Nothing yet: add your first task.' : `${left} left`
  }

  const form = h(
    'form',
    {
      class: 'row',
      onsubmit: (event) => {
        event.preventDefault()
        const text = input.value.trim()
        if (!text) return
        todos.push({ id: Date.now(), text, done: false })
        input.value = ''
        save()
      },
    },
    input,
    h('button', { type: 'submit' }, 'Add'),
  )

  root.append(h('section', { class: 'card', 'data-testid': 'todo' }, h('h2', {}, 'Tasks'), form, list, status))
  render()
}
