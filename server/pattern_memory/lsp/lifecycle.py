"""Initialize, configuration changes and shutdown."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsprotocol import types
from pygls.uris import to_fs_path

from ..errors import PatternMemoryError
from ..settings import Settings, load_settings
from .options import SECTION, apply_options, team_api_key
from .server import PatternMemoryProtocol

if TYPE_CHECKING:
    from .server import PatternMemoryServer

log = logging.getLogger(__name__)
SHUTDOWN_GRACE_SECONDS = 10.0
# A team sync blocked on the network can take its whole read timeout to notice it was
# cancelled: shutdown waits this long only (editors give the server a few seconds).
SYNC_SHUTDOWN_GRACE_SECONDS = 1.0


def _uri_path(uri: str) -> Path | None:
    path = to_fs_path(uri)
    return Path(path) if path else None


def _workspace_roots(params: types.InitializeParams) -> list[Path]:
    """Every workspace folder (the first is "the" root: settings file, default index)."""
    if params.workspace_folders:
        roots = [_uri_path(folder.uri) for folder in params.workspace_folders]
    elif params.root_uri:
        roots = [_uri_path(params.root_uri)]
    else:
        roots = [Path(params.root_path)] if params.root_path else []
    return [root for root in roots if root is not None]


def _file_settings(ls: PatternMemoryServer, root: Path | None) -> Settings:
    """Defaults <- config files <- environment; a broken file is reported, not fatal."""
    try:
        return load_settings(repo_path=root)
    except PatternMemoryError as exc:
        ls.show_message(f"Pattern Memory: {exc}; using the defaults")
        return Settings()


def _apply(ls: PatternMemoryServer, base: Settings, raw: Any, source: str) -> None:
    """`raw` applied on top of `base`: only the keys it names change."""
    settings, messages = apply_options(base, raw, source)
    ls.settings = settings
    for message in messages:
        log.warning("%s", message)
        ls.show_message(message)


async def _open_memory(ls: PatternMemoryServer) -> bool:
    """(Re)open the memory for the settings in force; False, and the user told why, if not."""
    try:
        await ls.open_memory()
    except PatternMemoryError as exc:
        ls.show_message(f"Pattern Memory: {exc}", types.MessageType.Error)
        return False
    return True


def register(server: PatternMemoryServer) -> None:
    @server.feature(types.INITIALIZE)
    def initialize(ls: PatternMemoryServer, params: types.InitializeParams) -> None:
        ls.loop = asyncio.get_running_loop()
        ls.workspace_roots = _workspace_roots(params)
        ls.base_settings = _file_settings(ls, ls.workspace_root)
        _apply(ls, ls.base_settings, params.initialization_options, "initializationOptions")
        ls.team_api_key = team_api_key(params.initialization_options)
        if ls.team_api_key:
            log.info("team API key: received from the editor (kept in memory only)")

    @server.feature(types.INITIALIZED)
    async def initialized(ls: PatternMemoryServer, params: types.InitializedParams) -> None:
        if not await _open_memory(ls):
            return
        if ls.memory is not None:  # the team's patterns pulled earlier, marked from the start
            await ls.team_sync.load_origins(ls.memory)
        ls.analysis.refresh_all()
        if ls.settings.index_on_start:
            for root in ls.workspace_roots:
                ls.indexer.start_background(root)
        ls.team_sync.configure()

    @server.feature(types.WORKSPACE_DID_CHANGE_WORKSPACE_FOLDERS)
    def did_change_folders(
        ls: PatternMemoryServer, params: types.DidChangeWorkspaceFoldersParams
    ) -> None:
        removed = {_uri_path(folder.uri) for folder in params.event.removed}
        added = [_uri_path(folder.uri) for folder in params.event.added]
        ls.workspace_roots = [root for root in ls.workspace_roots if root not in removed]
        for root in added:
            if root is not None and root not in ls.workspace_roots:
                ls.workspace_roots.append(root)
                if ls.settings.index_on_start and ls.memory is not None:
                    ls.indexer.start_background(root)

    @server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    async def did_change_configuration(
        ls: PatternMemoryServer, params: types.DidChangeConfigurationParams
    ) -> None:
        raw = params.settings
        if not raw and _can_pull_configuration(ls):
            pulled = await ls.workspace_configuration_async(
                types.ConfigurationParams(items=[types.ConfigurationItem(section=SECTION)])
            )
            raw = pulled[0] if pulled else None
        previous = ls.settings
        # Layered on what is in force (files, environment, initializationOptions, earlier
        # changes): an empty or partial change keeps every option it does not name.
        _apply(ls, previous, raw, "didChangeConfiguration")
        if ls.settings == previous or not await _open_memory(ls):
            return
        ls.team_sync.configure()  # teamUrl or syncIntervalMinutes may have changed
        ls.analysis.refresh_all()

    @server.feature(types.SHUTDOWN)
    async def shutdown(ls: PatternMemoryServer, params: None) -> None:
        ls.shutdown_requested = True
        if isinstance(ls.protocol, PatternMemoryProtocol):
            ls.protocol.cancel_pending()
        await ls.indexer.stop(SHUTDOWN_GRACE_SECONDS)
        await ls.team_sync.stop(SYNC_SHUTDOWN_GRACE_SECONDS)
        ls.analysis.stop()
        if ls.memory is not None:
            await asyncio.get_running_loop().run_in_executor(ls.request_pool, ls.memory.close)
        ls.memory = None
        ls.stop_workers()


def _can_pull_configuration(ls: PatternMemoryServer) -> bool:
    workspace = ls.client_capabilities.workspace
    return bool(workspace and workspace.configuration)
