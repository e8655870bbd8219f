-- Pattern Memory for Neovim: starts `pattern-memory serve` as a language server.
--
-- Neovim 0.11+:   vim.lsp.config("pattern_memory", cfg) + vim.lsp.enable("pattern_memory")
-- Neovim 0.8-0.10: vim.lsp.start() from a FileType autocommand
-- Neovim 0.7:      vim.lsp.start_client() + vim.lsp.buf_attach_client(), one client per root
--
-- Usage: require("pattern_memory").setup({ init_options = { minSuccessRate = 0.8 } })
local M = {}

M.name = "pattern_memory"

-- The server's settings, under the same camelCase keys as .pattern-memory.yaml, with the
-- server's defaults. Only the options you pass are sent (as initializationOptions), so that
-- your config.yaml and the repository's .pattern-memory.yaml still apply to the rest.
-- "" for dbPath / teamUrl means "the server's default" (XDG data dir / no team server).
M.option_defaults = {
  maxInjected = 5,
  minSuccessRate = 0.6,
  forgeOnSuccess = true,
  decayAfterDays = 90,
  similarity = 0.6,
  dbPath = "",
  userId = "local",
  includeTeam = false,
  teamUrl = "",
  syncIntervalMinutes = 15,
  maxHunkLines = 200,
  anonymizeAuthors = false,
  collective = false,
  diagnostics = true,
  diagnosticSeverity = "hint",
  indexOnStart = true,
  renamedMatchScore = 0.6,
  forgeDetector = "learned",
}

M.defaults = {
  cmd = { "pattern-memory", "serve" },
  filetypes = {
    "python", "javascript", "javascriptreact", "typescript", "typescriptreact", "go", "rust",
    "java", "kotlin", "c", "cpp", "cs", "ruby", "php", "lua", "sh", "swift", "scala",
  },
  root_markers = { ".git" },
  init_options = {},
}

local function notify(message, level)
  vim.schedule(function()
    vim.notify("pattern-memory: " .. message, level or vim.log.levels.WARN)
  end)
end

-- Unknown keys are dropped with a warning rather than sent: the server would refuse them.
local function checked_options(options)
  local out = {}
  for key, value in pairs(options or {}) do
    if M.option_defaults[key] == nil then
      notify("unknown option '" .. tostring(key) .. "' ignored")
    else
      out[key] = value
    end
  end
  -- An empty Lua table would be sent as a JSON array.
  return next(out) and out or vim.empty_dict()
end

--- The client configuration: defaults overridden by `opts` (cmd, filetypes, root_markers,
--- init_options, and any other vim.lsp client field such as on_attach).
function M.config(opts)
  opts = opts or {}
  local config = {}
  for key, value in pairs(M.defaults) do
    config[key] = value
  end
  for key, value in pairs(opts) do
    config[key] = value
  end
  config.name = M.name
  config.init_options = checked_options(config.init_options)
  -- Also offered as workspace settings (workspace/configuration, didChangeConfiguration).
  config.settings = { patternMemory = config.init_options }
  return config
end

-- Nearest ancestor directory of `path` holding one of the markers (file or directory).
local function find_root(path, markers)
  local dir = vim.fn.fnamemodify(path, ":p:h")
  while true do
    for _, marker in ipairs(markers) do
      if (vim.uv or vim.loop).fs_stat(dir .. "/" .. marker) then
        return dir
      end
    end
    local parent = vim.fn.fnamemodify(dir, ":h")
    if parent == dir then
      return nil
    end
    dir = parent
  end
end

local clients_by_root = {} -- Neovim 0.7: one client per workspace root

local function start_legacy(config, bufnr)
  local path = vim.api.nvim_buf_get_name(bufnr)
  if path == "" or vim.bo[bufnr].buftype ~= "" then
    return
  end
  local root = find_root(path, config.root_markers) or vim.fn.fnamemodify(path, ":p:h")
  local client_config = vim.tbl_extend("force", config, { root_dir = root })
  client_config.root_markers = nil
  client_config.filetypes = nil
  if vim.lsp.start then -- 0.8-0.10: reuses a running client with the same name and root
    vim.lsp.start(client_config, { bufnr = bufnr })
    return
  end
  local id = clients_by_root[root]
  local client = id and vim.lsp.get_client_by_id(id)
  if not client or client.is_stopped() then
    id = vim.lsp.start_client(client_config)
    if not id then
      notify("could not start " .. table.concat(config.cmd, " "), vim.log.levels.ERROR)
      return
    end
    clients_by_root[root] = id
  end
  vim.lsp.buf_attach_client(bufnr, id)
end

--- Register the server. On 0.11+ through vim.lsp.config/vim.lsp.enable; before, through a
--- FileType autocommand (buffers already open are attached too).
function M.setup(opts)
  local config = M.config(opts)
  if vim.lsp.config and vim.lsp.enable then
    vim.lsp.config(M.name, config)
    vim.lsp.enable(M.name)
    return config
  end
  local group = vim.api.nvim_create_augroup("pattern_memory", { clear = true })
  vim.api.nvim_create_autocmd("FileType", {
    group = group,
    pattern = config.filetypes,
    callback = function(args)
      start_legacy(config, args.buf)
    end,
  })
  for _, bufnr in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_is_loaded(bufnr) and vim.tbl_contains(config.filetypes, vim.bo[bufnr].filetype) then
      start_legacy(config, bufnr)
    end
  end
  return config
end

return M
