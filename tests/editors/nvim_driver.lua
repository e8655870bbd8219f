-- Drives Pattern Memory's Neovim client (clients/neovim) in headless Neovim 0.7+ and writes
-- what the editor saw to a JSON file for pytest. Environment:
--   PM_CLIENT_DIR   clients/neovim (put on the runtimepath)
--   PM_SERVER_CMD   JSON array: the server command
--   PM_INIT_OPTIONS JSON object: initializationOptions (camelCase settings)
--   PM_FILE         the file to open;  PM_OUT  the JSON result file
--   PM_ACTION       title prefix of the code action to apply
--   PM_TIMEOUT_MS   how long to wait for each step
--   PM_SETUP        "auto", or "vim.lsp.start": take the 0.8-0.10 path on a newer Neovim
--   PM_OTHER_FILE   optional: a second file of the same repository, opened at the end
--   PM_LOG_LEVEL    optional: vim.lsp.set_log_level (e.g. "info": lsp.log shows INFO lines)
vim.opt.swapfile = false
if os.getenv("PM_LOG_LEVEL") then
  vim.lsp.set_log_level(os.getenv("PM_LOG_LEVEL"))
end
-- Defaults (file type detection) come after an init file; this whole test runs inside it.
vim.cmd("filetype on")
local timeout = tonumber(os.getenv("PM_TIMEOUT_MS") or "30000")
local v = vim.version()
local res = { nvim = string.format("%d.%d.%d", v.major, v.minor, v.patch) }

local function clients_of(buf)
  if vim.lsp.get_clients then
    return vim.lsp.get_clients({ bufnr = buf })
  end
  return vim.tbl_values(vim.lsp.buf_get_clients(buf))
end

local function hover_text(contents)
  if type(contents) == "string" then
    return contents
  elseif contents.value then
    return contents.value
  end
  local parts = {}
  for _, part in ipairs(contents) do
    table.insert(parts, type(part) == "string" and part or part.value)
  end
  return table.concat(parts, "\n")
end

local function floating_window()
  for _, win in ipairs(vim.api.nvim_list_wins()) do
    if vim.api.nvim_win_get_config(win).relative ~= "" then
      return win
    end
  end
end

local ok, err = pcall(function()
  vim.opt.runtimepath:prepend(os.getenv("PM_CLIENT_DIR"))
  if os.getenv("PM_SETUP") == "vim.lsp.start" then
    vim.lsp.config, vim.lsp.enable = nil, nil -- as on Neovim 0.8-0.10
  end
  local config = require("pattern_memory").setup({
    cmd = vim.fn.json_decode(os.getenv("PM_SERVER_CMD")),
    init_options = vim.fn.json_decode(os.getenv("PM_INIT_OPTIONS")),
  })
  res.setup_path = (vim.lsp.config and vim.lsp.enable) and "vim.lsp.config+enable"
    or (vim.lsp.start and "vim.lsp.start" or "vim.lsp.start_client")
  res.init_options = config.init_options

  vim.cmd("edit " .. vim.fn.fnameescape(os.getenv("PM_FILE")))
  local buf = vim.api.nvim_get_current_buf()
  res.filetype = vim.bo[buf].filetype
  res.attached = vim.wait(timeout, function() return #clients_of(buf) > 0 end, 20)
  if not res.attached then
    return
  end
  local client = clients_of(buf)[1]
  res.client_name = client.name
  res.root_dir = client.config.root_dir
  vim.wait(timeout, function() return client.initialized or client.server_capabilities ~= nil end, 20)

  -- 1. The server publishes a diagnostic on the code that resembles a past bug.
  res.got_diagnostics = vim.wait(timeout, function() return #vim.diagnostic.get(buf) > 0 end, 50)
  res.diagnostics = {}
  for _, d in ipairs(vim.diagnostic.get(buf)) do
    local lsp = d.user_data and d.user_data.lsp or {}
    table.insert(res.diagnostics, {
      lnum = d.lnum, col = d.col, end_lnum = d.end_lnum, end_col = d.end_col,
      message = d.message, source = d.source, severity = d.severity,
      code = d.code, data = lsp.data,
    })
  end
  if not res.got_diagnostics then
    return
  end
  local first = vim.diagnostic.get(buf)[1]
  local uri = vim.uri_from_bufnr(buf)

  -- 2a. Hover on the diagnostic, as the raw LSP request an editor sends.
  local position = { line = first.lnum, character = first.col }
  local replies = vim.lsp.buf_request_sync(buf, "textDocument/hover",
    { textDocument = { uri = uri }, position = position }, timeout) or {}
  for _, reply in pairs(replies) do
    if reply.result and reply.result.contents then
      res.hover = hover_text(reply.result.contents)
    elseif reply.err then
      res.hover_error = vim.inspect(reply.err)
    end
  end
  -- 2b. The same through the editor's UI: the floating window vim.lsp.buf.hover() opens.
  vim.api.nvim_win_set_cursor(0, { first.lnum + 1, first.col })
  vim.lsp.buf.hover()
  local float
  vim.wait(timeout, function() float = floating_window() return float ~= nil end, 20)
  if float then
    res.hover_float = table.concat(
      vim.api.nvim_buf_get_lines(vim.api.nvim_win_get_buf(float), 0, -1, false), "\n")
    vim.api.nvim_win_close(float, true)
  end

  -- 3. The quick fix, chosen by title through vim.ui.select as a user would.
  vim.api.nvim_win_set_cursor(0, { first.lnum + 1, first.col })
  local prefix = os.getenv("PM_ACTION")
  res.action_titles = {}
  local chosen = false
  vim.ui.select = function(items, _, on_choice)
    for i, item in ipairs(items) do
      local action = item.action or item[2] or item -- 0.7: {client_id, action}
      table.insert(res.action_titles, action.title)
      if not chosen and action.title:sub(1, #prefix) == prefix then
        chosen = true
        res.action_title = action.title
        return on_choice(item, i)
      end
    end
    on_choice(nil)
  end
  local tick = vim.api.nvim_buf_get_changedtick(buf)
  vim.lsp.buf.code_action()
  res.applied = vim.wait(timeout, function()
    return vim.api.nvim_buf_get_changedtick(buf) ~= tick end, 20)
  vim.wait(300) -- let a multi-part edit finish
  res.text = table.concat(vim.api.nvim_buf_get_lines(buf, 0, -1, false), "\n")
  vim.cmd("silent write")

  -- 4. Another file of the same repository shares the running server.
  local other = os.getenv("PM_OTHER_FILE")
  if other then
    vim.cmd("edit " .. vim.fn.fnameescape(other))
    local other_buf = vim.api.nvim_get_current_buf()
    vim.wait(timeout, function() return #clients_of(other_buf) > 0 end, 20)
    local attached = clients_of(other_buf)
    res.other_file_client = attached[1] and attached[1].id
    res.first_file_client = client.id
    local all = vim.lsp.get_clients and vim.lsp.get_clients() or vim.lsp.get_active_clients()
    res.clients_running = #all
  end
end)
res.ok = ok
if not ok then
  res.err = tostring(err)
end
vim.fn.writefile({ vim.fn.json_encode(res) }, os.getenv("PM_OUT"))
for _, client in ipairs(vim.lsp.get_clients and vim.lsp.get_clients() or vim.lsp.get_active_clients()) do
  client.stop()
end
vim.wait(2000, function()
  return #(vim.lsp.get_clients and vim.lsp.get_clients() or vim.lsp.get_active_clients()) == 0
end, 20)
vim.cmd("qall!")
