// A tiny element builder: h('button', { class: 'ghost', onclick: fn }, 'Text').
export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag)
  for (const [key, value] of Object.entries(attrs)) {
    if (key.startsWith('on')) node.addEventListener(key.slice(2), value)
    else if (key in node && key !== 'list') node[key] = value
    else node.setAttribute(key, value)
  }
  node.append(...children.flat())
  return node
}

// Read JSON from localStorage, falling back when it is missing or corrupt.
export function load(key, fallback) {
  try {
    const raw = localStorage.getItem(key)
    return raw ? JSON.parse(raw) : fallback
  } catch {
    return fallback
  }
}
