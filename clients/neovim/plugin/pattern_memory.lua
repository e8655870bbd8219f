-- Opt-in auto setup: `vim.g.pattern_memory = { init_options = {...} }` before plugins load
-- starts the server for the supported file types; without it nothing happens until you call
-- require("pattern_memory").setup().
if vim.g.loaded_pattern_memory then
  return
end
vim.g.loaded_pattern_memory = true
if type(vim.g.pattern_memory) == "table" then
  require("pattern_memory").setup(vim.g.pattern_memory)
end
