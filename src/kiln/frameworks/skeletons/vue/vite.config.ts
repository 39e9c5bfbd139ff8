import { defineConfig } from 'vite'
import vue from '@vitejs/plugin-vue'
import tailwindcss from '@tailwindcss/vite'

// https://vite.dev/config/
export default defineConfig({
  // Tailwind v4 applies to stylesheets that `@import "tailwindcss"`; plain CSS is untouched.
  plugins: [vue(), tailwindcss()],
})
