-- Neovim 0.11+ picks this up from the runtimepath: `vim.lsp.enable("pattern_memory")` alone
-- starts the server with the defaults (add options with vim.lsp.config("pattern_memory", {...})).
return require("pattern_memory").config()
