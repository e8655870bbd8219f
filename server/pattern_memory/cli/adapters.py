"""`pattern-memory merge-adapters` and `pattern-memory adapters list|activate|rollback`.

NumPy is imported inside the handlers so that `pattern-memory --help` stays instant.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import AdapterError
from ..signals import terminate_as_interrupt

if TYPE_CHECKING:
    from ..adapters.fuse import MergeResult

_METHOD_HELP = (
    "cat (default): ranks concatenated, the merged update is exactly "
    "sum_i w_i*scale_i*B_i@A_i; svd: that exact sum re-factored to --rank R, reporting the "
    "relative error introduced; linear: the seed's formula applied to A and B separately "
    "(approximate: not the weighted sum of the updates)"
)


def add_merge_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--adapters",
        nargs="+",
        required=True,
        type=Path,
        metavar="ADAPTER",
        help="bare .safetensors files or PEFT adapter folders",
    )
    weighting = parser.add_mutually_exclusive_group()
    weighting.add_argument(
        "--weights", nargs="+", type=float, metavar="W", help="one weight per adapter, as given"
    )
    weighting.add_argument(
        "--success-rates",
        nargs="+",
        type=float,
        metavar="S",
        help="one success rate per adapter; weights = S_i / sum(S) (default: equal weights)",
    )
    parser.add_argument(
        "--output",
        required=True,
        type=Path,
        help="a .safetensors file, or a folder to get PEFT's layout (adapter_model.safetensors"
        " + adapter_config.json)",
    )
    parser.add_argument(
        "--method", choices=("cat", "svd", "linear"), default="cat", help=_METHOD_HELP
    )
    parser.add_argument(
        "--rank", type=int, help="svd: rank of the result (default: the largest input rank)"
    )
    parser.add_argument(
        "--alphas",
        nargs="+",
        type=float,
        metavar="ALPHA",
        help="lora_alpha of each bare .safetensors input (scale alpha/r); without it a bare "
        "file's scale is 1. Inputs with adapter_config.json take theirs from it",
    )
    parser.add_argument(
        "--dtype",
        choices=("float16", "bfloat16", "float32"),
        help="dtype of the output (default: the inputs' dtype; float32 if they differ)",
    )
    versions = parser.add_argument_group("version record")
    versions.add_argument(
        "--registry",
        type=Path,
        help="registry folder (default: 'adapters' beside the output)",
    )
    versions.add_argument("--version-name", help="default: merge-YYYYMMDD-HHMMSS (UTC)")
    versions.add_argument(
        "--created-by", help="default: git config user.email, else the login name"
    )
    versions.add_argument(
        "--no-activate", action="store_true", help="record the version without activating it"
    )
    versions.add_argument("--no-record", action="store_true", help="do not record a version at all")


def register(subparsers: Any) -> None:
    merge = subparsers.add_parser(
        "merge-adapters",
        help="merge LoRA adapters into one (weighted), and record it as a version",
        description="Merge LoRA adapters (safetensors files or PEFT folders) into one.",
    )
    add_merge_arguments(merge)
    merge.set_defaults(handler=run_merge)

    adapters = subparsers.add_parser(
        "adapters",
        help="list, activate or roll back merged adapter versions",
        description="Manage the registry of merged adapter versions (default: ./adapters).",
    )
    actions = adapters.add_subparsers(dest="adapters_action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="list the versions, the active one marked '*'")
    activate = actions.add_parser("activate", help="make a version the active one")
    activate.add_argument("name", help="version name")
    rollback = actions.add_parser(
        "rollback", help="go back to the previously active version (or to NAME)"
    )
    rollback.add_argument("name", nargs="?", help="version to go back to")
    for action, handler in (
        (listing, run_list),
        (activate, run_activate),
        (rollback, run_rollback),
    ):
        action.add_argument(
            "--registry", type=Path, default=Path("adapters"), help="default: ./adapters"
        )
        action.set_defaults(handler=handler)


def _weights_text(weights: Sequence[float]) -> str:
    return ", ".join(f"{w:.4g}" for w in weights)


def run_merge(args: argparse.Namespace) -> int:
    # SIGTERM (e.g. a service manager stopping us) unwinds like Ctrl-C: the staged output is
    # removed and the previous one stays.
    with terminate_as_interrupt():
        return _merge_and_record(args)


def _merge_and_record(args: argparse.Namespace) -> int:
    from ..adapters.fuse import MergeRequest, resolve_weights, staged_merge
    from ..adapters.merge import Method
    from ..adapters.versions import Registry, is_registry_output

    # Everything that can be checked without the inputs' data is checked before any work.
    count = len(args.adapters)
    weights = resolve_weights(count, args.weights, args.success_rates)
    output: Path = args.output
    registry = None if args.no_record else Registry.for_output(output, args.registry)
    if registry is None and is_registry_output(output):
        raise AdapterError(
            f"{output} is the active copy of the registry {output.parent}; writing it without "
            "recording a version would leave active.json naming another one: drop --no-record "
            "or choose another --output"
        )
    into_registry = registry is not None and registry.owns(output)
    if registry is not None:
        registry.check_new_name(args.version_name)
    request = MergeRequest(
        inputs=args.adapters,
        output=output,
        method=Method(args.method),
        weights=weights,
        rank=args.rank,
        alphas=args.alphas,
        dtype=args.dtype,
        checksums=registry is not None,
    )
    with staged_merge(request) as staged:
        result = staged.result
        _print_merge(result, count, f"registry {output.parent}" if into_registry else None)
        if registry is None:
            staged.commit()
            return 0
        # Recorded before the output is put in place: if recording fails, the user's previous
        # output is untouched. Into a registry's merged.safetensors, only activation writes.
        record = registry.record(
            weights_path=staged.files.staged_weights,
            config_path=staged.files.staged_config,
            inputs=args.adapters,
            method=str(result.method),
            weights=weights,
            ranks=result.ranks,
            svd_relative_error=result.svd_relative_error,
            version_name=args.version_name,
            created_by=args.created_by,
            activate=not args.no_activate,
            identities=result.input_identities,
            output_path=output,
        )
        if not into_registry:
            staged.commit()
    state = "not activated" if args.no_activate else "active"
    print(f"version {record.version_name} recorded in {registry.versions_dir} ({state})")
    if into_registry:
        where = registry.merged_path if not args.no_activate else record.adapter_path
        print(f"merged adapter: {where}")
    return 0


def _print_merge(result: MergeResult, count: int, destination: str | None) -> None:
    from ..adapters.merge import Method

    ranks = "/".join(str(r) for r in result.ranks)
    print(
        f"merged {count} adapters with {result.method} (weights "
        f"{_weights_text(result.weights)}): {result.modules} modules, rank {ranks} -> "
        f"{destination or result.weights_path}"
    )
    if result.config_path is not None and destination is None:
        print(f"PEFT config: {result.config_path}")
    if result.svd_relative_error is not None and result.svd_max_relative_error is not None:
        print(
            f"svd: relative error introduced {result.svd_relative_error:.3%} overall, "
            f"{result.svd_max_relative_error:.3%} in the worst module"
        )
    if result.method is Method.LINEAR:
        print(
            "note: linear averages A and B separately, so its update only approximates the "
            "weighted sum of the adapters' updates; use --method cat or svd for an exact merge"
        )
    for note in result.notes:
        print(f"note: {note}")


def run_list(args: argparse.Namespace) -> int:
    from ..adapters.versions import Registry

    registry = Registry(args.registry)
    records = registry.versions()
    if not records:
        print(f"no versions in {registry.versions_dir}")
        return 0
    active = registry.active()
    for record in records:
        mark = "*" if record.version_name == active else " "
        parents = ", ".join(record.parent_versions)
        print(
            f"{mark} {record.version_name}  {record.created_at}  {record.created_by}  "
            f"{record.method}  parents: {parents}"
        )
    return 0


def run_activate(args: argparse.Namespace) -> int:
    from ..adapters.versions import Registry

    registry = Registry(args.registry)
    record = registry.activate(args.name)
    print(f"active: {record.version_name} ({registry.merged_path})")
    return 0


def run_rollback(args: argparse.Namespace) -> int:
    from ..adapters.versions import Registry

    registry = Registry(args.registry)
    record = registry.rollback(args.name)
    print(f"rolled back; active: {record.version_name} ({registry.merged_path})")
    return 0
