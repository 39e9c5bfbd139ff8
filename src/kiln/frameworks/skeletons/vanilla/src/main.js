import './style.css'

const main = document.querySelector('#app-main')
const card = document.createElement('section')
card.className = 'card'
card.innerHTML = '<h2>Hello</h2><p>This is a plain JavaScript app built with Vite.</p>'
main.append(card)
