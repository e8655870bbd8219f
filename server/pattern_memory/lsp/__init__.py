"""The pygls language server: diagnostics, hover and code actions from learned fixes, and
`workspace/executeCommand` commands. lsprotocol types never leave this package."""
