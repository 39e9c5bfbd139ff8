import { useEffect, useState } from 'react'

type Todo = { id: number; text: string; done: boolean }

const STORAGE_KEY = 'kiln-todos'

function loadTodos(): Todo[] {
  try {
    const raw = localStorage.getItem(STORAGE_KEY)
    return raw ? (JSON.parse(raw) as Todo[]) : []
  } catch {
    return []
  }
}

export default function TodoList() {
  const [todos, setTodos] = useState<Todo[]>(loadTodos)
  const [text, setText] = useState('')

  useEffect(() => {
    localStorage.setItem(STORAGE_KEY, JSON.stringify(todos))
  }, [todos])

  function addTodo() {
    const trimmed = text.trim()
    if (!trimmed) return
    setTodos([...todos, { id: Date.now(), text: trimmed, done: false }])
    setText('')
  }

  function toggleTodo(id: number) {
    setTodos(todos.map((t) => (t.id === id ? { ...t, done: !t.done } : t)))
  }

  function deleteTodo(id: number) {
    setTodos(todos.filter((t) => t.id !== id))
  }

  const left = todos.filter((t) => !t.done).length

  return (
    <section className="card" data-testid="todo">
      <h2>Tasks</h2>
      <form
        className="row"
        onSubmit={(event) => {
          event.preventDefault()
          addTodo()
        }}
      >
        <input
          value={text}
          onChange={(event) => setText(event.target.value)}
          placeholder="What needs doing?"
          aria-label="New task"
        />
        <button type="submit">Add</button>
      </form>
      <ul className="list">
        {todos.map((todo) => (
          <li key={todo.id}>
            <input
              type="checkbox"
              checked={todo.done}
              onChange={() => toggleTodo(todo.id)}
              aria-label={`Done: ${todo.text}`}
            />
            <span className={todo.done ? 'done' : ''}>{todo.text}</span>
            <button className="ghost" onClick={() => deleteTodo(todo.id)} aria-label="Delete">
              ✕
            </button>
          </li>
        ))}
      </ul>
      <p className="muted">{todos.length === 0 ? 'Nothing yet: add your first task.' : `${left} left`}</p>
    </section>
  )
}
